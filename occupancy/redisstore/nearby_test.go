package redisstore_test

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

func TestNearbyZoneType(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		s := newStore(t, rdb, &clock{now: t0})
		for _, sensor := range []string{"S1", "S5"} { // A-1 (on street), B-1 (off street)
			mustApply(t, s, reading(sensor, false, t0, 1), occupancy.ResultApplied)
		}
		for zt, want := range map[occupancy.ZoneType]string{"": "A-1", occupancy.OnStreet: "A-1", occupancy.OffStreet: "B-1"} {
			got, err := s.Nearby(context.Background(), occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64,
				RadiusM: 2000, Limit: 1, ZoneType: zt})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Space.ID != want {
				t.Errorf("zone_type %q: %+v, want %s", zt, got, want)
			}
		}
		_, err := s.Nearby(context.Background(), occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 10, Limit: 1,
			ZoneType: "garage"})
		if occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Errorf("zone_type garage: %v, want EINVALID", err)
		}
	})
}

func TestNearestFreeZones(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		s := newStore(t, rdb, &clock{now: t0})
		// A: A-1 and A-4 (accessible) free; B: B-2 (ev) free, B-1 occupied.
		for _, r := range []occupancy.Reading{reading("S1", false, t0, 1), reading("S4", false, t0, 1),
			reading("S6", false, t0, 1), reading("S5", true, t0, 1)} {
			mustApply(t, s, r, occupancy.ResultApplied)
		}
		// The point is about 330 m north of A and 670 m south of B.
		const lat = 29.853
		tests := []struct {
			name string
			q    occupancy.NearbyQuery
			n    int
			want []string // zone:free
		}{
			{"any kind", occupancy.NearbyQuery{}, 3, []string{"A:2", "B:1"}},
			{"only one", occupancy.NearbyQuery{}, 1, []string{"A:2"}},
			{"near B, B first", occupancy.NearbyQuery{Lat: 29.858}, 3, []string{"B:1", "A:2"}},
			{"accessible", occupancy.NearbyQuery{Kind: occupancy.KindAccessible}, 3, []string{"A:1"}},
			{"ev", occupancy.NearbyQuery{Kind: occupancy.KindEV}, 3, []string{"B:1"}},
			{"loading: none anywhere", occupancy.NearbyQuery{Kind: occupancy.KindLoading}, 3, nil},
			{"off street", occupancy.NearbyQuery{ZoneType: occupancy.OffStreet}, 3, []string{"B:1"}},
			{"on street standard", occupancy.NearbyQuery{ZoneType: occupancy.OnStreet, Kind: occupancy.KindStandard}, 3, []string{"A:1"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				if q.Lat == 0 {
					q.Lat = lat
				}
				q.Lon, q.RadiusM, q.Limit = 121.64, 10, 10
				got, err := s.NearestFreeZones(context.Background(), q, tc.n)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, z := range got {
					ids = append(ids, z.Zone.ID+":"+strconv.Itoa(z.Free))
					want := math.Round(occupancy.Distance(q.Lat, 121.64, z.Zone.Lat, z.Zone.Lon)*10) / 10
					if z.DistanceM != want {
						t.Errorf("%s: distance %v, want %v", z.Zone.ID, z.DistanceM, want)
					}
				}
				if len(ids) != len(tc.want) {
					t.Fatalf("zones %v, want %v", ids, tc.want)
				}
				for i := range ids {
					if ids[i] != tc.want[i] {
						t.Errorf("zones %v, want %v", ids, tc.want)
						break
					}
				}
			})
		}
	})
}
