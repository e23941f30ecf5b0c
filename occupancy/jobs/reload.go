package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// RegistryStore is what a registry reload changes. *redisstore.Store
// implements it.
type RegistryStore interface {
	// SwapRegistry makes next the registry, once the applies that use the
	// current one have run.
	SwapRegistry(next *occupancy.Registry)
	// Init stores the registry's new spaces as unknown; the others keep
	// their state.
	Init(ctx context.Context) error
	// Retire removes spaces, as placed in the registry old, from the state.
	Retire(ctx context.Context, old *occupancy.Registry, ids []string) error
	// Reindex re-derives the free sets of changed spaces from their state.
	Reindex(ctx context.Context, ids []string) error
}

// ReloaderOptions configure a Reloader.
type ReloaderOptions struct {
	// Store holds the state. Required.
	Store RegistryStore
	// Registry is the running registry, shared with the store. Required.
	Registry *occupancy.Registry
	// RetireGrace is how long after its first pass a reload retires the
	// removed spaces and re-indexes the changed ones again. Default 2.5s.
	RetireGrace time.Duration
	// Reloaded is called after each reload (e.g. to rebuild the read
	// model). Default none.
	Reloaded func()
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives what each reload changed. Default: discard.
	Logger *slog.Logger
}

// A Reloader swaps the running registry for a new one: new spaces are
// stored as unknown, removed ones retired (state, counters and free sets),
// the others keep their live state. Reloads are serialised. Several parkd
// instances each reload their own registry; every step is idempotent, so
// reloading the same files on every instance is safe.
//
// The store's swap waits for the applies that use the old registry, so the
// first retire and re-index pass follows all of this process's applies. A
// second pass, RetireGrace later, is for an apply whose caller gave up
// waiting (a context deadline; every ingest attempt gives up within 2 s)
// while its script was still on the way to Redis, or one of another
// instance still on the old registry: run after the first pass, it could
// re-create a removed space or put a changed one in its old kind's free
// set.
type Reloader struct {
	opts ReloaderOptions
	log  *slog.Logger
	mu   sync.Mutex
}

// NewReloader returns a Reloader. It panics without Store or Registry (a
// wiring bug).
func NewReloader(opts ReloaderOptions) *Reloader {
	if opts.Store == nil || opts.Registry == nil {
		panic("jobs: ReloaderOptions.Store and Registry are required")
	}
	if opts.RetireGrace <= 0 {
		opts.RetireGrace = 2500 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Reloader{opts: opts, log: orDiscard(opts.Logger).With("component", "reload")}
}

// Reload makes next the registry and reports what changed. The zones must
// be the same (ids; their names and attributes may change): adding or
// removing a zone needs a restart (ECONFLICT).
func (r *Reloader) Reload(ctx context.Context, next *occupancy.Registry) (occupancy.ReloadReport, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.opts.Registry.Snapshot()
	if err := occupancy.SameZones(cur, next); err != nil {
		return occupancy.ReloadReport{}, err
	}
	rep := occupancy.DiffRegistries(cur, next)
	st := r.opts.Store
	st.SwapRegistry(next)
	if r.opts.Reloaded != nil {
		defer r.opts.Reloaded()
	}
	if err := st.Init(ctx); err != nil {
		return rep, fmt.Errorf("reload: %w", err)
	}
	if err := r.repair(ctx, cur, rep); err != nil {
		return rep, err
	}
	if len(rep.Removed)+len(rep.Changed) > 0 {
		sleep(ctx, r.opts.RetireGrace) // cut short when ctx ends: the second pass runs anyway
		if err := r.repair(context.WithoutCancel(ctx), cur, rep); err != nil {
			return rep, err
		}
	}
	rep.ReloadedAt = r.opts.Now().UTC()
	r.log.Info("registry reloaded", "added", len(rep.Added), "removed", len(rep.Removed),
		"changed", len(rep.Changed), "spaces", rep.Spaces)
	return rep, nil
}

// repair retires the spaces rep removed from old and re-indexes the ones
// it changed: both derive the result from the stored state and the current
// registry only, so running them again is harmless.
func (r *Reloader) repair(ctx context.Context, old *occupancy.Registry, rep occupancy.ReloadReport) error {
	if err := r.opts.Store.Retire(ctx, old, rep.Removed); err != nil {
		return err
	}
	return r.opts.Store.Reindex(ctx, rep.Changed)
}
