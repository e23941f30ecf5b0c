package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// RegistryStore is what a registry reload reads and changes.
// *redisstore.Store implements it; its errors are EINTERNAL (Redis) unless
// a method says otherwise.
type RegistryStore interface {
	// SwapRegistry makes next the registry, once the applies that use the
	// current one have run.
	SwapRegistry(next *occupancy.Registry)
	// RegistryRecord returns what Redis records about the registry.
	RegistryRecord(ctx context.Context) (occupancy.RegistryRecord, error)
	// AdoptRegistry records version as in force if none is recorded, and
	// returns the version in force.
	AdoptRegistry(ctx context.Context, version string) (string, error)
	// BeginReload takes the reload lease for job and records target as
	// being put in force; it returns the version in force. ECONFLICT while
	// another instance holds the lease.
	BeginReload(ctx context.Context, job, owner, target string, lease time.Duration) (string, error)
	// RenewReload and FinishReload extend job's lease, or make its target
	// the version in force; ECONFLICT when the job lost the lease.
	RenewReload(ctx context.Context, job string, lease time.Duration) error
	FinishReload(ctx context.Context, job string) error
	// ReleaseReload ends job's lease, leaving the reload unfinished for
	// any instance to finish. ECONFLICT when the job lost the lease.
	ReleaseReload(ctx context.Context, job string) error
	// Fence lets only holders of version write to the zone's state.
	Fence(ctx context.Context, zoneID, version string) error
	// SyncSpaces stores the given spaces of a zone that have no state and
	// puts each in the right free set: states created, entries changed.
	SyncSpaces(ctx context.Context, zoneID string, spaces []occupancy.Space) (int, int, error)
	// DeleteOrphans deletes the zone's states, free-set entries and
	// closures of spaces the store's registry does not place there.
	DeleteOrphans(ctx context.Context, zoneID string) (occupancy.ReloadResult, error)
	// ResolveOrphanIncidents resolves the open incidents of such spaces
	// and forgets their conditions; it returns how many it resolved.
	ResolveOrphanIncidents(ctx context.Context, zoneID string) (int, error)
	// CountStored counts the zone's states, and those reg does not place
	// there.
	CountStored(ctx context.Context, zoneID string, reg *occupancy.Registry) (stored, orphans int, err error)
	// SaveReloadJob and ReloadJob keep jobs for every instance to answer;
	// ReloadJob is ENOTFOUND for an unknown id.
	SaveReloadJob(ctx context.Context, job occupancy.ReloadJob) error
	ReloadJob(ctx context.Context, id string) (occupancy.ReloadJob, error)
}

// ReloaderOptions configure a Reloader.
type ReloaderOptions struct {
	// Store holds the state. Required.
	Store RegistryStore
	// Registry is the running registry, shared with the store. Required.
	Registry *occupancy.Registry
	// Load reads the registry files again, to follow a reload another
	// instance runs. Default nil: the registry is not read again (an
	// embedded registry), and an instance follows nothing.
	Load func() (*occupancy.Registry, error)
	// Instance names this parkd in the reload lease and jobs. Default the
	// host name and process id.
	Instance string
	// MaxRemoveShare is the share of the stored spaces a reload may delete
	// without confirm_remove. Default occupancy.DefaultMaxRemoveShare.
	MaxRemoveShare float64
	// FollowInterval is how often Redis's registry record is read, to
	// follow, finish or take over reloads. Default 2s.
	FollowInterval time.Duration
	// Lease is how long a reload's lease lasts without renewal; another
	// instance takes an unfinished reload over after it. Default 30s.
	Lease time.Duration
	// RetryFor is how long a reload step is retried while Redis fails
	// before the job fails. Default 2m.
	RetryFor time.Duration
	// Reloaded is called after the registry changed (e.g. to rebuild the
	// read model). Default none.
	Reloaded func()
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the jobs' progress. Default: discard.
	Logger *slog.Logger
}

func (o *ReloaderOptions) ensureDefaults() {
	if o.Instance == "" {
		host, _ := os.Hostname()
		o.Instance = host + ":" + strconv.Itoa(os.Getpid())
	}
	if o.MaxRemoveShare <= 0 {
		o.MaxRemoveShare = occupancy.DefaultMaxRemoveShare
	}
	if o.FollowInterval <= 0 {
		o.FollowInterval = 2 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.RetryFor <= 0 {
		o.RetryFor = 2 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Logger = orDiscard(o.Logger)
}

// A Reloader puts a new registry in force, as a background job that
// survives the HTTP client, Redis restarts and parkd itself: Redis records
// the version in force and the one a reload is putting in force, every
// step is idempotent and works in short chunks, and Run, on every instance,
// finishes an unfinished reload to its own registry, follows a reload run
// elsewhere and refuses to use a registry that is not in force
// (docs/operations.md says why).
type Reloader struct {
	opts  ReloaderOptions
	log   *slog.Logger
	store RegistryStore
	queue chan *reloadRun

	mu       sync.Mutex
	current  *reloadRun                     // the job queued or running here
	recent   map[string]occupancy.ReloadJob // this process's jobs, latest state
	done     map[string]chan struct{}       // closed when this process's job of that id ends
	problem  string                         // why this instance's registry is not in force ("" if it is)
	usable   chan struct{}                  // closed once this instance's registry may be used
	followed string                         // the version the files were last read for
	followAt time.Time                      // and when
}

// reloadRun is one job with the registry it puts in force.
type reloadRun struct {
	job   occupancy.ReloadJob
	next  *occupancy.Registry
	saved time.Time     // when job was last saved
	done  chan struct{} // closed when the job ends
}

// NewReloader returns a Reloader. It panics without Store or Registry (a
// wiring bug).
func NewReloader(opts ReloaderOptions) *Reloader {
	if opts.Store == nil || opts.Registry == nil {
		panic("jobs: ReloaderOptions.Store and Registry are required")
	}
	opts.ensureDefaults()
	return &Reloader{opts: opts, log: opts.Logger.With("component", "reload"), store: opts.Store,
		queue: make(chan *reloadRun, 1), recent: map[string]occupancy.ReloadJob{}, done: map[string]chan struct{}{}, usable: make(chan struct{})}
}

// Usable is closed once this instance's registry is in force, or being put
// in force, so the store may be initialised with it and ingest may start.
func (r *Reloader) Usable() <-chan struct{} { return r.usable }

// Problem returns why this instance's registry is not the one in force
// (for the readiness check), or "".
func (r *Reloader) Problem() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.problem
}

// newJobID returns a job id: the start time and random digits.
func newJobID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
