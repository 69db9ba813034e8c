//! TM Forum TMF622 Product Ordering v5 at `/tmf-api/productOrderingManagement/v5`: the
//! `productOrder` resource (create, read, list, merge-patch), the `cancelProductOrder` task
//! and the notification `hub`. Each maps onto the core handlers (`orders::place_order`,
//! `amendments::amend`, `cancellations::cancel`, `webhooks::register`), so an order created
//! here is an orderflow order under the same rules, events and webhooks; the TMF622 names of
//! its states come from `orderflow_domain::tmf622`.

pub mod cancel;
pub mod hub;
pub mod orders;
pub mod resource;
