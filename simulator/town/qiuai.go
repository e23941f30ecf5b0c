package town

import "github.com/qiuai/parking/occupancy"

// oldTown is the old town's crossroads, where 镇中路 crosses the old street,
// in metres from the centre. The old-town zones are drawn around it.
var oldTown = pt{-200, 250}

// qiuaiZones is the hand-drawn plan of Qiuai, zone by zone, in rollout
// order: phase 1 is the old town, phase 2 the nearer lots, phase 3 the rest.
// Coordinates are metres east and north of the zone's at point.
var qiuaiZones = []zoneSpec{
	{
		id: "Z01", name: "老镇区东街", typ: occupancy.OnStreet, profile: occupancy.ProfileCommuter, phase: 1, at: oldTown,
		parts: []part{{maxStay: 120, shape: street{sides: 2, path: []pt{
			{0, 0}, {115, 4}, {230, 10}, {345, 12}, {460, 6}, {575, -4}, {690, -10}}}}},
		kinds: streetKinds{accessibleEvery: 3, loadingEvery: 2, loadingBays: 1, evEvery: 4}.rule(),
	},
	{
		id: "Z02", name: "老镇区西街", typ: occupancy.OnStreet, profile: occupancy.ProfileCommuter, phase: 1, at: oldTown,
		parts: []part{{maxStay: 120, shape: street{sides: 2, path: []pt{
			{0, 0}, {-110, 6}, {-220, 16}, {-330, 20}, {-440, 14}, {-550, 4}}}}},
		kinds: streetKinds{accessibleEvery: 3, loadingEvery: 2, loadingBays: 1, evEvery: 5}.rule(),
	},
	{
		id: "Z03", name: "镇中路", typ: occupancy.OnStreet, profile: occupancy.ProfileCommuter, phase: 1, at: oldTown,
		parts: []part{{maxStay: 60, shape: street{sides: 2, path: []pt{
			{-6, -440}, {-2, -320}, {0, -200}, {0, 0}, {2, 120}, {4, 240}, {0, 360}}}}},
		kinds: streetKinds{accessibleEvery: 3, loadingEvery: 3, loadingBays: 1}.rule(),
	},
	{
		// The market street runs west from 镇中路; its middle blocks, by the
		// market hall, have the shortest limit.
		id: "Z04", name: "邱隘菜场街", typ: occupancy.OnStreet, profile: occupancy.ProfileMarket, phase: 1, at: oldTown,
		parts: []part{
			{maxStay: 60, shape: street{sides: 2, path: []pt{{0, -200}, {-90, -196}}}},
			{maxStay: 30, shape: street{sides: 2, path: []pt{{-90, -196}, {-180, -190}, {-270, -188}, {-360, -192}}}},
			{maxStay: 60, shape: street{sides: 2, path: []pt{{-360, -192}, {-450, -198}}}},
		},
		kinds: streetKinds{accessibleEvery: 4, loadingEvery: 1, loadingBays: 2}.rule(),
	},
	{
		id: "Z05", name: "回龙新村停车场", typ: occupancy.OffStreet, profile: occupancy.ProfileResidential, phase: 2, at: pt{900, 700},
		parts: []part{
			{shape: lot{angle: 15, cols: 26, rows: 12}},
			{shape: lot{at: pt{106, 28}, angle: 15, cols: 18, rows: 6}},
		},
		kinds: lotKinds{accessible: 0.03, ev: 0.06}.rule(),
	},
	{
		id: "Z06", name: "盛莫社区停车场", typ: occupancy.OffStreet, profile: occupancy.ProfileResidential, phase: 2, at: pt{-1200, 300},
		parts: []part{
			{shape: lot{cols: 22, rows: 14}},
			{shape: lot{at: pt{0, 85}, cols: 30, rows: 2}},
		},
		kinds: lotKinds{accessible: 0.03, ev: 0.05}.rule(),
	},
	{
		// Reclaimed under the ring road's viaduct, between its piers; a cross
		// street splits it, and its east half joins in phase 3.
		id: "Z07", name: "环镇北路高架桥下停车场", typ: occupancy.OffStreet, profile: occupancy.ProfileCommuter, phase: 2, at: pt{0, 1300},
		parts: []part{
			{shape: lot{at: pt{-149.8, -7.85}, angle: 3, cols: 96, rows: 2, pierEvery: 8, pierGap: 2}},
			{shape: lot{at: pt{149.8, 7.85}, angle: 3, cols: 96, rows: 2, pierEvery: 8, pierGap: 2}, phase: 3},
		},
		kinds: lotKinds{accessible: 0.02, ev: 0.03}.rule(),
	},
	{
		id: "Z08", name: "邱隘医院停车场", typ: occupancy.OffStreet, profile: occupancy.ProfileCommuter, phase: 2, at: pt{-700, 950},
		parts: []part{{shape: lot{cols: 24, rows: 10}}},
		kinds: lotKinds{accessible: 0.12, ev: 0.03}.rule(),
	},
	{
		// The school street: drop-off and pick-up, so a short limit, and an
		// accessible bay at the start of every block.
		id: "Z09", name: "学府路", typ: occupancy.OnStreet, profile: occupancy.ProfileCommuter, phase: 2, at: pt{-700, 705},
		parts: []part{{maxStay: 30, shape: street{sides: 2, path: []pt{
			{-200, -5}, {-100, 0}, {0, 5}, {100, 7}, {200, 5}}}}},
		kinds: streetKinds{accessibleEvery: 1}.rule(),
	},
	{
		id: "Z10", name: "邱隘新城小区停车场", typ: occupancy.OffStreet, profile: occupancy.ProfileResidential, phase: 3, at: pt{-600, -1200},
		parts: []part{{shape: lot{angle: -10, cols: 28, rows: 14}}},
		kinds: lotKinds{accessible: 0.03, ev: 0.06}.rule(),
	},
	{
		// Reclaimed under the approach spans of the bridge over the river.
		id: "Z11", name: "后塘河桥下停车场", typ: occupancy.OffStreet, profile: occupancy.ProfileCommuter, phase: 3, at: pt{1700, 100},
		parts: []part{{shape: lot{angle: 80, cols: 50, rows: 4, pierEvery: 10, pierGap: 2}}},
		kinds: lotKinds{accessible: 0.02}.rule(),
	},
	{
		// Park-and-ride at the metro station: all-day parking, but the
		// chargers are limited so that they turn over.
		id: "Z12", name: "邱隘地铁站P+R停车场", typ: occupancy.OffStreet, profile: occupancy.ProfileCommuter, phase: 3, at: pt{700, -700},
		parts: []part{{shape: lot{cols: 30, rows: 16}}},
		kinds: lotKinds{accessible: 0.04, ev: 0.15}.rule(), evStay: 240,
	},
	{
		id: "Z13", name: "万金花园停车场", typ: occupancy.OffStreet, profile: occupancy.ProfileResidential, phase: 3, at: pt{1300, -900},
		parts: []part{{shape: lot{angle: 25, cols: 20, rows: 12}}},
		kinds: lotKinds{accessible: 0.03, ev: 0.06}.rule(),
	},
	{
		// Industrial estate: a through road and a side street, long limits
		// and a loading bay at the end of every block.
		id: "Z14", name: "东兴路", typ: occupancy.OnStreet, profile: occupancy.ProfileCommuter, phase: 3, at: pt{1150, -350},
		parts: []part{
			{maxStay: 240, shape: street{sides: 2, path: []pt{{0, 200}, {2, 70}, {0, -60}, {-4, -190}}}},
			{maxStay: 240, shape: street{sides: 2, path: []pt{{0, -60}, {130, -64}, {260, -70}}}},
		},
		kinds: streetKinds{accessibleEvery: 4, loadingEvery: 1, loadingBays: 1}.rule(),
	},
}

// Qiuai returns the Qiuai town as designed: its zones in rollout order and
// their spaces, QA-Z01-0001 onwards, with sensors S-000001 onwards. Each call
// returns new slices.
func Qiuai() ([]occupancy.Zone, []occupancy.Space) {
	bd := builder{prefix: "QA"}
	for _, spec := range qiuaiZones {
		bd.add(spec)
	}
	return bd.zones, bd.spaces
}
