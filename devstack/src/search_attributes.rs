//! Whether a Temporal namespace has orderflow's search attributes. Temporal refuses to start a
//! workflow carrying an unknown attribute, so on a Temporal that orderflow did not start
//! itself (`orderflow dev --temporal-address`) they are checked before the first order.

use anyhow::{anyhow, bail};
use orderflow_config::{Settings, temporal_client};
use orderflow_workflows::order_workflow::SEARCH_ATTRIBUTES;
use temporalio_client::{Client, NamespacedClient};
use temporalio_common::protos::temporal::api::enums::v1::IndexedValueType;
use temporalio_common::protos::temporal::api::operatorservice::v1::ListSearchAttributesRequest;

/// The attributes of [`SEARCH_ATTRIBUTES`] the client's namespace lacks (or has with another
/// type than `Keyword`).
pub async fn missing(client: &Client) -> anyhow::Result<Vec<&'static str>> {
    let namespace = client.namespace();
    let request = ListSearchAttributesRequest {
        namespace: namespace.clone(),
    };
    let reply = client
        .connection()
        .operator_service()
        .list_search_attributes(temporalio_client::tonic::Request::new(request))
        .await
        .map_err(|e| {
            anyhow!(
                "listing the search attributes of namespace {namespace}: {}",
                e.message()
            )
        })?
        .into_inner();
    let keyword = IndexedValueType::Keyword as i32;
    Ok(SEARCH_ATTRIBUTES
        .into_iter()
        .filter(|name| reply.custom_attributes.get(*name) != Some(&keyword))
        .collect())
}

/// Connects as `settings` say and fails, naming them and the command that registers them, if
/// any of orderflow's search attributes are missing. Answers the namespace checked.
pub async fn check(settings: &Settings) -> anyhow::Result<String> {
    let client = temporal_client(settings).await?;
    let namespace = client.namespace();
    let missing = missing(&client).await?;
    if !missing.is_empty() {
        let address = settings
            .temporal_address
            .as_deref()
            .unwrap_or("localhost:7233");
        bail!(
            "namespace {namespace} at {address} lacks orderflow's search attributes {} \
             (Temporal would refuse every order). Register them with:\n  {}",
            missing.join(", "),
            register_command(address, &namespace, &missing)
        );
    }
    Ok(namespace)
}

/// The `temporal` command that registers `missing` in `namespace` at `address`.
pub fn register_command(address: &str, namespace: &str, missing: &[&str]) -> String {
    // The CLI pairs the n-th --name with the n-th --type.
    let mut command = format!(
        "temporal operator search-attribute create --address {address} --namespace {namespace}"
    );
    for name in missing {
        command.push_str(&format!(" --name {name} --type Keyword"));
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_gives_each_name_its_type() {
        assert_eq!(
            register_command("127.0.0.1:7233", "default", &["OrderState", "OrderRef"]),
            "temporal operator search-attribute create --address 127.0.0.1:7233 \
             --namespace default --name OrderState --type Keyword --name OrderRef --type Keyword"
        );
    }
}
