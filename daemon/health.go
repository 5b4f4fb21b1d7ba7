package daemon

import (
	"context"
	"time"

	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"github.com/mothreads/mothreads/signals"
	"github.com/mothreads/mothreads/threads"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// readinessInterval is how often the "health" thread looks at the pool's
// figures once it is warm.
const readinessInterval = 500 * time.Millisecond

// watchReadiness is the "health" thread: grpc.health.v1 (the overall
// status "" and the Mothreads service) says NOT_SERVING until the pool has
// its minimum idle sessions, then SERVING, except while session starts keep
// failing (start failures grew over an interval in which no session was
// spawned). At shutdown the server sets NOT_SERVING for good (see serve),
// before this thread is asked to stop.
func (d *daemon) watchReadiness(t *threads.Thread) error {
	ctx, cancel := signals.WithSignal(context.Background(), t.PleaseStop())
	defer cancel()
	log := d.logger(t)
	if d.pool.Stats().MinIdle > 0 {
		if err := d.pool.WaitWarm(ctx); err != nil {
			return nil // stopping
		}
	}
	d.setHealth(healthpb.HealthCheckResponse_SERVING)
	log.Info("ready: the pool is warm; health SERVING")
	st := d.pool.Stats()
	failures, spawned := st.SessionStartFailures, st.SessionsSpawned
	failing := false
	ticker := time.NewTicker(readinessInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		st := d.pool.Stats()
		switch {
		case st.SessionsSpawned > spawned && failing:
			failing = false
			d.setHealth(healthpb.HealthCheckResponse_SERVING)
			log.Info("sessions start again: health SERVING")
		case st.SessionStartFailures > failures && st.SessionsSpawned == spawned && !failing:
			failing = true
			d.setHealth(healthpb.HealthCheckResponse_NOT_SERVING)
			log.Warn("session starts keep failing: health NOT_SERVING", "start_failures", st.SessionStartFailures)
		}
		failures, spawned = st.SessionStartFailures, st.SessionsSpawned
	}
}

// setHealth sets the overall status and the Mothreads service's.
func (d *daemon) setHealth(s healthpb.HealthCheckResponse_ServingStatus) {
	d.health.SetServingStatus("", s)
	d.health.SetServingStatus(pb.Mothreads_ServiceDesc.ServiceName, s)
}
