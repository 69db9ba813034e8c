package main

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// WorkflowType is the name the Rust `#[workflow]` macro gives `BaselineWorkflow` (its type
// name), so the benchmark starts this workflow with the same typed call as the Rust one.
const WorkflowType = "BaselineWorkflow"

// ActivityType is the Rust no-op activity's name (`NoopActivities::noop`), so both
// baselines write the same events with the same names into their histories.
const ActivityType = "NoopActivities::noop"

// stageAttribute is set once a parked workflow waits, as in the Rust baseline, so the
// benchmark counts parked workflows through visibility.
var stageAttribute = temporal.NewSearchAttributeKeyKeyword("OrderState")

// Input is the Rust `BaselineInput`.
type Input struct {
	Steps uint32 `json:"steps"`
	Park  bool   `json:"park"`
}

// Noop is the no-op activity: it returns its argument.
func Noop(_ context.Context, n uint32) (uint32, error) {
	return n, nil
}

// baseline holds what the Rust `BaselineWorkflow` keeps in its state.
type baseline struct {
	stage uint32
}

// activity runs one no-op activity (start-to-close 60 s, as in the Rust baseline).
func (b *baseline) activity(ctx workflow.Context, n uint32) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 60 * time.Second,
	})
	return workflow.ExecuteActivity(ctx, ActivityType, n).Get(ctx, nil)
}

// record stands in for one `store.record`: a no-op local activity (start-to-close 10 s).
func (b *baseline) record(ctx workflow.Context) error {
	b.stage++
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
	})
	return workflow.ExecuteLocalActivity(ctx, ActivityType, b.stage).Get(ctx, nil)
}

// BaselineWorkflow runs the Rust baseline's sequence: the stages of an order with no-op
// activities, parking after the first plan step when asked until the `release` signal.
// It returns the number of records made.
func BaselineWorkflow(ctx workflow.Context, input Input) (uint32, error) {
	b := &baseline{}
	if err := workflow.SetQueryHandler(ctx, "status", func() (uint32, error) {
		return b.stage, nil
	}); err != nil {
		return 0, err
	}
	// Stands in for a PATCH amendment: record the request, ask the supplier, record the
	// decision, answer.
	if err := workflow.SetUpdateHandler(ctx, "touch", func(ctx workflow.Context, n uint32) (uint32, error) {
		if err := b.record(ctx); err != nil {
			return 0, err
		}
		if err := b.activity(ctx, n); err != nil {
			return 0, err
		}
		if err := b.record(ctx); err != nil {
			return 0, err
		}
		return b.stage, nil
	}); err != nil {
		return 0, err
	}
	// Before the plan steps: ORDER_ACKNOWLEDGED, SUBMITTED, validate, transfer,
	// FEASIBILITY, feasibility, PLAN_DEVELOPMENT, plan, EXECUTION.
	prelude := []func() error{
		func() error { return b.record(ctx) },
		func() error { return b.record(ctx) },
		func() error { return b.activity(ctx, 1) },
		func() error { return b.activity(ctx, 2) },
		func() error { return b.record(ctx) },
		func() error { return b.activity(ctx, 3) },
		func() error { return b.record(ctx) },
		func() error { return b.activity(ctx, 4) },
		func() error { return b.record(ctx) },
	}
	for _, stage := range prelude {
		if err := stage(); err != nil {
			return 0, err
		}
	}
	for step := uint32(0); step < input.Steps; step++ {
		if err := b.activity(ctx, 5+step); err != nil {
			return 0, err
		}
		if step == 0 && input.Park {
			if err := workflow.UpsertTypedSearchAttributes(ctx, stageAttribute.ValueSet("PARKED")); err != nil {
				return 0, err
			}
			// Signals are buffered: a `release` sent earlier is received here at once.
			workflow.GetSignalChannel(ctx, "release").Receive(ctx, nil)
		}
		if err := b.record(ctx); err != nil { // PLAN_STEP_COMPLETED
			return 0, err
		}
	}
	if err := b.record(ctx); err != nil { // COMPLETE
		return 0, err
	}
	return b.stage, nil
}
