package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// The registry record (pk:registry) says which registry version is in force
// and which one a reload is putting in force (lua/registry.lua); each reload
// job's progress is kept in pk:registry:job:ID for any instance to answer.
// The zones' fence (the rv field of each zone's counters) is what the state
// scripts compare with their caller's registry version.

// jobKeep is how long a reload job's record is kept after its last update.
const jobKeep = 7 * 24 * time.Hour

func (s *Store) registryKey() string     { return s.opts.Prefix + ":registry" }
func (s *Store) jobKey(id string) string { return s.opts.Prefix + ":registry:job:" + id }
func msText(t time.Time) string          { return strconv.FormatInt(t.UnixMilli(), 10) }
func (s *Store) version() string         { return s.reg.Version() }
func fenced(err error) bool              { return err != nil && redis.HasErrorPrefix(err, "FENCED") }
func fencedError(what string, err error) error {
	return occupancy.Errorf(occupancy.ECONFLICT, "%s: %s", what, err.Error())
}

// RegistryRecord returns the registry record. EINTERNAL on a Redis error.
func (s *Store) RegistryRecord(ctx context.Context) (occupancy.RegistryRecord, error) {
	m, err := s.rdb.HGetAll(ctx, s.registryKey()).Result()
	if err != nil {
		return occupancy.RegistryRecord{}, fmt.Errorf("redis store: read registry record: %w", err)
	}
	rec := occupancy.RegistryRecord{Version: m["version"], Target: m["target"], Job: m["job"], Owner: m["owner"]}
	if ms, err := strconv.ParseInt(m["lease_until"], 10, 64); err == nil {
		rec.LeaseUntil = time.UnixMilli(ms).UTC()
	}
	return rec, nil
}

// AdoptRegistry records version as in force if no version is recorded, and
// returns the version in force.
func (s *Store) AdoptRegistry(ctx context.Context, version string) (string, error) {
	res, err := s.registryOp(ctx, "adopt", "", "", version, 0)
	if err != nil {
		return "", err
	}
	return res[1], nil
}

// BeginReload takes the reload lease for job run by owner, for lease, and
// records target as the registry being put in force. It returns the
// version in force before. ECONFLICT when another instance holds a lease
// that has not ended (its record is in the message).
func (s *Store) BeginReload(ctx context.Context, job, owner, target string, lease time.Duration) (string, error) {
	res, err := s.registryOp(ctx, "begin", job, owner, target, lease)
	if err != nil {
		return "", err
	}
	if res[0] == "busy" {
		ms, _ := strconv.ParseInt(res[4], 10, 64)
		return "", occupancy.Errorf(occupancy.ECONFLICT, "a reload to registry version %s (job %s) is running on %s "+
			"until at least %s: wait for it, or repeat this request once it is over", res[1], res[2], res[3],
			time.UnixMilli(ms).UTC().Format(time.RFC3339))
	}
	return res[1], nil
}

// RenewReload extends job's lease. ECONFLICT when the job lost it.
func (s *Store) RenewReload(ctx context.Context, job string, lease time.Duration) error {
	return s.leaseOp(ctx, "renew", job, lease)
}

// ReleaseReload ends job's lease now and keeps the reload unfinished, so
// that any instance may finish it. ECONFLICT when the job lost the lease.
func (s *Store) ReleaseReload(ctx context.Context, job string) error {
	return s.leaseOp(ctx, "release", job, 0)
}

// FinishReload records job's target as the version in force and ends its
// lease. ECONFLICT when the job lost the lease.
func (s *Store) FinishReload(ctx context.Context, job string) error {
	return s.leaseOp(ctx, "finish", job, 0)
}

func (s *Store) leaseOp(ctx context.Context, op, job string, lease time.Duration) error {
	res, err := s.registryOp(ctx, op, job, "", "", lease)
	if err == nil && res[0] != "ok" {
		err = occupancy.Errorf(occupancy.ECONFLICT, "reload job %s no longer holds the reload lease", job)
	}
	return err
}

// registryOp runs registryScript.
func (s *Store) registryOp(ctx context.Context, op, job, owner, target string, lease time.Duration) ([]string, error) {
	now := s.opts.Now()
	res, err := registryScript.Run(ctx, s.rdb, []string{s.registryKey()},
		op, job, owner, target, msText(now), msText(now.Add(lease))).StringSlice()
	if err == nil && len(res) == 0 {
		err = errors.New("empty answer")
	}
	if err != nil {
		return nil, fmt.Errorf("redis store: registry record %s: %w", op, err)
	}
	return res, nil
}

// Fence makes version the only registry version whose holders may write
// to zone zoneID's state: the apply, closure, sync and retire scripts of a
// store holding another registry are refused from now on.
func (s *Store) Fence(ctx context.Context, zoneID, version string) error {
	k, ok := s.zones[zoneID]
	if !ok {
		return occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
	}
	if err := s.rdb.HSet(ctx, k.counters, "rv", version).Err(); err != nil {
		return fmt.Errorf("redis store: fence zone %s: %w", zoneID, err)
	}
	return nil
}

// SaveReloadJob stores a reload job's record, kept for a week after its
// last update.
func (s *Store) SaveReloadJob(ctx context.Context, job occupancy.ReloadJob) error {
	b, err := json.Marshal(job)
	if err == nil {
		err = s.rdb.Set(ctx, s.jobKey(job.ID), b, jobKeep).Err()
	}
	if err != nil {
		return fmt.Errorf("redis store: save reload job %s: %w", job.ID, err)
	}
	return nil
}

// ReloadJob returns a reload job's record. ENOTFOUND for an unknown id.
func (s *Store) ReloadJob(ctx context.Context, id string) (occupancy.ReloadJob, error) {
	var job occupancy.ReloadJob
	b, err := s.rdb.Get(ctx, s.jobKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return job, occupancy.Errorf(occupancy.ENOTFOUND, "reload job %s not found", id)
	}
	if err == nil {
		err = json.Unmarshal(b, &job)
	}
	if err != nil {
		return job, fmt.Errorf("redis store: read reload job %s: %w", id, err)
	}
	return job, nil
}
