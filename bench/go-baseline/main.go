// Command go-baseline is the benchmark's Go SDK baseline worker: the Rust
// `BaselineWorkflow` (bench/src/baseline.rs) written with the Go SDK, run with the same
// slots and cache as the orderflow worker, on its own task queue. orderflow-bench builds
// and starts it; it polls until SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TaskQueue is the Go baseline's own queue (the Rust baseline polls orderflow-bench-baseline).
const TaskQueue = "orderflow-bench-go-baseline"

// connectPatience is how long a server that was just started may refuse connections.
const connectPatience = 30 * time.Second

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "go baseline worker: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	address := flag.String("temporal-address", "127.0.0.1:7233", "Temporal frontend, host:port (an http:// prefix is dropped)")
	namespace := flag.String("namespace", "default", "Temporal namespace")
	cached := flag.Int("max-cached-workflows", 2000, "workflows kept in the sticky cache")
	workflowTasks := flag.Int("max-concurrent-workflow-tasks", 100, "workflow-task slots")
	activities := flag.Int("max-concurrent-activities", 200, "activity slots")
	localActivities := flag.Int("max-concurrent-local-activities", 200, "local-activity slots")
	// The Rust SDK polls with up to 5 workflow-task and 5 activity-task pollers by default
	// (SimpleMaximum(5)); the Go SDK's default is 2 each. The baseline takes the Rust
	// figures so that the two workers differ in the SDK, not in how they are set up.
	workflowPollers := flag.Int("workflow-task-pollers", 5, "workflow-task pollers (Rust SDK default)")
	activityPollers := flag.Int("activity-task-pollers", 5, "activity-task pollers (Rust SDK default)")
	flag.Parse()
	if *workflowTasks < 2 || *workflowPollers < 2 {
		return fmt.Errorf("--max-concurrent-workflow-tasks and --workflow-task-pollers must be at least 2")
	}

	// Warnings only: the SDK logs every worker start and stop at info level.
	logger := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	hostPort := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(*address, "http://"), "https://"), "/")
	c, err := dial(client.Options{HostPort: hostPort, Namespace: *namespace, Logger: logger})
	if err != nil {
		return err
	}
	defer c.Close()

	// The sticky cache is process-wide in the Go SDK; it must be set before a worker starts.
	worker.SetStickyWorkflowCacheSize(*cached)
	w := worker.New(c, TaskQueue, worker.Options{
		MaxConcurrentWorkflowTaskExecutionSize:  *workflowTasks,
		MaxConcurrentActivityExecutionSize:      *activities,
		MaxConcurrentLocalActivityExecutionSize: *localActivities,
		MaxConcurrentWorkflowTaskPollers:        *workflowPollers,
		MaxConcurrentActivityTaskPollers:        *activityPollers,
	})
	w.RegisterWorkflowWithOptions(BaselineWorkflow, workflow.RegisterOptions{Name: WorkflowType})
	w.RegisterActivityWithOptions(Noop, activity.RegisterOptions{Name: ActivityType})
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the worker on %s: %w", TaskQueue, err)
	}
	fmt.Fprintf(os.Stderr, "go baseline worker polling %s\n", TaskQueue)
	<-worker.InterruptCh()
	w.Stop()
	return nil
}

// dial connects to Temporal, retrying while a freshly started server is not ready yet.
func dial(options client.Options) (client.Client, error) {
	start := time.Now()
	for {
		c, err := client.Dial(options)
		if err == nil {
			return c, nil
		}
		if time.Since(start) > connectPatience {
			return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w", options.HostPort, options.Namespace, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
