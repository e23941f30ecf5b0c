//go:build linux

package main

// The reload scenarios of the fault suite: parkd starts with the Qiuai
// registry plus a phase of extraSpaces silent spaces, and mid-stream the
// registry folder goes back to Qiuai's and the reload (deleting those
// spaces) is posted while a fault hits it: the client gone at once, Redis
// restarted, parkd SIGKILLed. Each ends, after the reload is posted again,
// with the Qiuai registry in force, zero drift, zero orphans (the check
// reports them) and every space matching the simulator's truth.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// faultAdminToken is every fault-suite parkd's admin token.
const faultAdminToken = "8250b8472b90bf5d80c8b81827d7f11b0e4437769bbcc875" // random: tokens need 128 bits of apparent entropy

// extraSpaces is how many spaces the reload scenarios' first registry holds
// beyond Qiuai's, spread over its zones: enough that the reload deleting
// them runs long enough (about half a second) to be hit in the middle.
const extraSpaces = 50_000

// bigRegistry writes the Qiuai registry plus extraSpaces silent spaces into
// a new folder and returns it.
func bigRegistry(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyQiuai(t, dir)
	f, err := os.OpenFile(filepath.Join(dir, "spaces.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range extraSpaces {
		zone := fmt.Sprintf("Z%02d", i%14+1)
		fmt.Fprintf(w, "QX-%s-%06d,%s,SX-%07d,%.6f,%.6f,standard,0,3\n", zone, i, zone, i,
			29.84+float64(i%1000)*1e-5, 121.63+float64(i/1000)*1e-5)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyQiuai writes the Qiuai registry's files into dir.
func copyQiuai(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"zones.yaml", "spaces.csv"} {
		b, err := os.ReadFile(filepath.Join("../../configs/qiuai", name))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// startReload posts the reload to instance i, confirming what the dry run
// says it deletes, and returns the job.
func (r *rig) startReload(i int) occupancy.ReloadJob {
	t := r.t
	t.Helper()
	base := r.parkds[i].base
	code, body := postReload(t, base, faultAdminToken, "?dry_run=true")
	var plan occupancy.ReloadPlan
	if code != http.StatusOK || json.Unmarshal(body, &plan) != nil {
		t.Fatalf("dry run: %d %s", code, body)
	}
	code, body = postReload(t, base, faultAdminToken, fmt.Sprintf("?confirm_remove=%d", plan.Deletes))
	var job occupancy.ReloadJob
	if code != http.StatusAccepted || json.Unmarshal(body, &job) != nil {
		t.Fatalf("reload: %d %s", code, body)
	}
	t.Logf("reload job %s started at %s into the stream: deletes %d of %d stored states",
		job.ID, time.Since(r.start).Round(time.Millisecond), plan.Deletes, plan.Stored)
	return job
}

// midJob waits until job, on instance i, is deleting the orphans (the
// long step) and has deleted some, and fails the test if it ended first.
func (r *rig) midJob(i int, job occupancy.ReloadJob) {
	t := r.t
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		j := r.job(i, job.ID)
		switch {
		case j.Status != occupancy.ReloadRunning:
			t.Fatalf("reload job ended (%s) before the fault: make extraSpaces larger", j.Status)
		case j.Step == "orphans" && j.Result.Deleted > 0:
			t.Logf("fault at step %s, %d states deleted", j.Step, j.Result.Deleted)
			return
		case time.Now().After(deadline):
			t.Fatalf("reload job still at step %s", j.Step)
		}
	}
}

// job reads a reload job from instance i.
func (r *rig) job(i int, id string) occupancy.ReloadJob {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.parkds[i].base+"/api/v1/admin/registry/reload/jobs/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+faultAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("GET job %s: %v", id, err)
	}
	defer resp.Body.Close()
	var j occupancy.ReloadJob
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET job %s: %d %v", id, resp.StatusCode, err)
	}
	return j
}

// finishReload posts the reload again (confirming what it still deletes),
// waits for its job, and checks that Redis records Qiuai's registry in
// force with no reload unfinished.
func (r *rig) finishReload() {
	t := r.t
	t.Helper()
	job := r.startReload(0)
	job = waitJob(t, r.parkds[0].base, faultAdminToken, job.ID, time.Minute)
	t.Logf("re-run: job %s %s, result %+v", job.ID, job.Status, job.Result)
	if job.Status != occupancy.ReloadDone {
		t.Fatalf("re-run reload job %+v", job)
	}
	rec, err := r.store.RegistryRecord(t.Context())
	if err != nil || rec.Version != r.reg.Version() || rec.Target != "" {
		t.Errorf("registry record %+v %v, want Qiuai's version %s in force", rec, err, r.reg.Version())
	}
}

// TestFaultReloadClientGone: the client posting the reload goes away as
// soon as its request is sent. The reload is started all the same, runs
// to its end, and posting it again finds nothing more to delete.
func TestFaultReloadClientGone(t *testing.T) {
	dir := bigRegistry(t)
	r := newRigIn(t, 1, false, dir)
	st := r.stream(21, streamFor, func() {
		r.at(faultAt)
		copyQiuai(t, dir)
		code, body := postReload(t, r.parkds[0].base, faultAdminToken, "?dry_run=true")
		var plan occupancy.ReloadPlan
		if code != http.StatusOK || json.Unmarshal(body, &plan) != nil {
			t.Fatalf("dry run: %d %s", code, body)
		}
		conn, err := net.Dial("tcp", strings.TrimPrefix(r.parkds[0].base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /api/v1/admin/registry/reload?confirm_remove=%d HTTP/1.1\r\nHost: parkd\r\n"+
			"Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n", plan.Deletes, faultAdminToken)
		conn.Close() // gone before any answer
		t.Logf("client gone after posting the reload at %s into the stream", time.Since(r.start).Round(time.Millisecond))
	})
	eventually(t, time.Minute, "the abandoned reload ends", func() error {
		rec, err := r.store.RegistryRecord(t.Context())
		if err == nil && (rec.Version != r.reg.Version() || rec.Target != "") {
			err = fmt.Errorf("record %+v", rec)
		}
		return err
	})
	r.finishReload()
	r.check("reload posted by a client gone at once", st)
}

// TestFaultReloadRedisRestarted: Redis is stopped for a second in the
// middle of the reload's job and started again from its AOF; the job
// retries its step and ends, or the re-run finishes it.
func TestFaultReloadRedisRestarted(t *testing.T) {
	dir := bigRegistry(t)
	r := newRigIn(t, 1, false, dir)
	var job occupancy.ReloadJob
	st := r.stream(22, streamFor, func() {
		r.at(faultAt)
		copyQiuai(t, dir)
		job = r.startReload(0)
		r.midJob(0, job)
		r.redis.Stop(t)
		r.faults.redisRestarts++
		time.Sleep(time.Second)
		r.redis.Start(t)
	})
	j := waitJob(t, r.parkds[0].base, faultAdminToken, job.ID, time.Minute)
	t.Logf("the job hit by the restart: %s, result %+v, error %q", j.Status, j.Result, j.Error)
	if j.Status != occupancy.ReloadDone {
		t.Errorf("the job hit by a 1 s Redis restart ended %s: its steps retry for 2 minutes", j.Status)
	}
	r.finishReload()
	r.check("Redis stopped and started in the middle of a reload", st)
}

// TestFaultReloadParkdKilled: parkd is SIGKILLed in the middle of the
// reload's job and started again with the new files: it finishes the
// unfinished reload by itself at start, and the re-run finds it done.
func TestFaultReloadParkdKilled(t *testing.T) {
	dir := bigRegistry(t)
	r := newRigIn(t, 1, false, dir)
	var job occupancy.ReloadJob
	st := r.stream(23, streamFor, func() {
		r.at(faultAt)
		copyQiuai(t, dir)
		job = r.startReload(0)
		r.midJob(0, job)
		r.killParkd(0)
		time.Sleep(500 * time.Millisecond)
		r.restartParkd(0)
	})
	eventually(t, time.Minute, "the killed reload is finished after the restart", func() error {
		if j := r.job(0, job.ID); j.Status != occupancy.ReloadInterrupted || j.ResumedBy == "" {
			return fmt.Errorf("killed job %s, resumed by %q", j.Status, j.ResumedBy)
		}
		return nil
	})
	r.finishReload()
	r.check("parkd SIGKILLed in the middle of a reload and restarted", st)
}
