package occupancy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// DefaultMaxRemoveShare is the share of the stored spaces a reload may
// delete without confirm_remove.
const DefaultMaxRemoveShare = 0.10

// RegistryRecord is what Redis says about the registry: the version in
// force, and the reload under way, if any, with the instance that runs it.
type RegistryRecord struct {
	// Version is the registry fully in force ("" before any parkd
	// recorded one).
	Version string `json:"version"`
	// Target is the registry a reload is putting in force; "" when none
	// is under way or unfinished.
	Target string `json:"target,omitempty"`
	// Job and Owner are the reload job of Target and the instance running
	// it; LeaseUntil is when its lease ends unless renewed.
	Job        string    `json:"job,omitempty"`
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until"`
}

// Leased reports whether a reload holds the lease at now.
func (r RegistryRecord) Leased(now time.Time) bool {
	return r.Target != "" && r.Owner != "" && now.Before(r.LeaseUntil)
}

// ReloadPlan is what a reload would do, as a dry run answers it: the
// difference from the running registry and the states it would delete.
type ReloadPlan struct {
	ReloadReport
	// DryRun is true in a dry run's answer.
	DryRun bool `json:"dry_run"`
	// Running is this instance's registry version; InForce the one Redis
	// records as in force; Pending that of an unfinished reload.
	Running string `json:"running"`
	InForce string `json:"in_force"`
	Pending string `json:"pending,omitempty"`
	// Stored counts the space states in Redis, and Deletes those the
	// reload deletes (their spaces are not in the new registry, or are in
	// another zone), in all and by zone. Deletes is what the guard counts:
	// it is Removed's count unless an earlier reload was left unfinished.
	Stored        int            `json:"stored"`
	Deletes       int            `json:"deletes"`
	DeletesByZone map[string]int `json:"deletes_by_zone"`
	// MaxRemoveShare is the guard's share; ConfirmNeeded says the reload
	// is refused without confirm_remove=Deletes.
	MaxRemoveShare float64 `json:"max_remove_share"`
	ConfirmNeeded  bool    `json:"confirm_needed"`
}

// Guard refuses (ECONFLICT) a reload that deletes more than MaxRemoveShare
// of the stored spaces unless confirm is Deletes, and one whose confirm
// (given when confirmed) is not Deletes. A reload that finishes an
// unfinished one to the same version was allowed when it began and passes.
func (p ReloadPlan) Guard(confirm int, confirmed bool) error {
	if p.Pending != "" && p.Pending == p.Version {
		return nil
	}
	if confirmed && confirm != p.Deletes {
		return Errorf(ECONFLICT, "confirm_remove=%d, but the reload deletes %d stored spaces%s: nothing was changed",
			confirm, p.Deletes, p.deletesText())
	}
	if p.ConfirmNeeded && !confirmed {
		return Errorf(ECONFLICT, "the reload deletes %d of the %d stored spaces (%.1f%%), more than reload.max_remove_share "+
			"(%g%%)%s; nothing was changed. If that is intended, repeat the request with confirm_remove=%d",
			p.Deletes, p.Stored, 100*float64(p.Deletes)/float64(max(p.Stored, 1)), 100*p.MaxRemoveShare,
			p.deletesText(), p.Deletes)
	}
	return nil
}

// deletesText lists the deletions by zone, the first 20 zones.
func (p ReloadPlan) deletesText() string {
	zones := slices.Sorted(maps.Keys(p.DeletesByZone))
	var parts []string
	for _, z := range zones {
		if n := p.DeletesByZone[z]; n > 0 && len(parts) < 20 {
			parts = append(parts, fmt.Sprintf("%s %d", z, n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (by zone: " + strings.Join(parts, ", ") + ")"
}

// NeedsConfirm reports whether deleting deletes of stored states is more
// than share of them.
func NeedsConfirm(deletes, stored int, share float64) bool {
	return deletes > 0 && float64(deletes) > share*float64(stored)
}

// ReloadStatus is where a reload job is.
type ReloadStatus string

// Reload job statuses. A job is interrupted when its instance stopped or
// died before it ended; an instance whose registry is its version finishes
// it (ResumedBy).
const (
	ReloadRunning     ReloadStatus = "running"
	ReloadDone        ReloadStatus = "done"
	ReloadFailed      ReloadStatus = "failed"
	ReloadInterrupted ReloadStatus = "interrupted"
)

// ReloadProgress counts a reload job's work: zones through every step,
// and the new registry's spaces stored or checked.
type ReloadProgress struct {
	Zones      int `json:"zones"`
	ZonesDone  int `json:"zones_done"`
	Spaces     int `json:"spaces"`
	SpacesDone int `json:"spaces_done"`
}

// ReloadResult counts what a reload job changed in Redis.
type ReloadResult struct {
	// Created counts the states stored as unknown (new spaces).
	Created int `json:"created"`
	// Deleted counts the states deleted (removed spaces, and any other
	// state of a space not in the registry).
	Deleted int `json:"deleted"`
	// Reindexed counts the free-set entries added, moved or taken out.
	Reindexed int `json:"reindexed"`
	// ClosuresEnded and IncidentsResolved count the closures and the open
	// incidents of removed spaces that ended with them.
	ClosuresEnded     int `json:"closures_ended"`
	IncidentsResolved int `json:"incidents_resolved"`
}

// ReloadJob is a registry reload running in the background, as
// GET /api/v1/admin/registry/reload/jobs/{id} shows it.
type ReloadJob struct {
	ID       string       `json:"id"`
	Status   ReloadStatus `json:"status"`
	Instance string       `json:"instance"`
	// Version is the registry the job puts in force; Previous the one
	// recorded in force when it began.
	Version  string `json:"version"`
	Previous string `json:"previous"`
	// Resumes is the interrupted job this one finishes, if any; ResumedBy
	// is set on an interrupted job once another finished it.
	Resumes   string `json:"resumes,omitempty"`
	ResumedBy string `json:"resumed_by,omitempty"`
	// Step is the step running: swap, fence, spaces, orphans, incidents,
	// record, done.
	Step     string         `json:"step"`
	Progress ReloadProgress `json:"progress"`
	Result   ReloadResult   `json:"result"`
	// Diff is what the reload changes against the registry the instance
	// ran; nil for a job resumed after a restart (that registry is gone).
	Diff       *ReloadReport `json:"diff"`
	Error      string        `json:"error,omitempty"`
	StartedAt  time.Time     `json:"started_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
	FinishedAt *time.Time    `json:"finished_at"`
}
