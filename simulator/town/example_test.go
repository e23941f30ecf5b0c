package town_test

import (
	"fmt"
	"os"

	"github.com/qiuai/parking/simulator/town"
)

func ExampleGenerate() {
	zones, spaces, err := town.Generate(town.Options{}) // the Qiuai town
	if err != nil {
		panic(err)
	}
	s := spaces[0]
	fmt.Printf("%d zones, %d spaces; first zone %s %s\n", len(zones), len(spaces), zones[0].ID, zones[0].Name)
	fmt.Println(s.ID, s.ZoneID, s.SensorID, s.Kind, s.MaxStayMin, s.Phase)

	zones, spaces, _ = town.Generate(town.Options{Spaces: 100_000, Seed: 1}) // a synthetic city
	fmt.Printf("%d zones, %d spaces; first space %s\n", len(zones), len(spaces), spaces[0].ID)
	// Output:
	// 14 zones, 3718 spaces; first zone Z01 老镇区东街
	// QA-Z01-0001 Z01 S-000001 accessible 120 1
	// 295 zones, 100000 spaces; first space C-Z0001-0001
}

func ExampleWriteRegistry() {
	dir, _ := os.MkdirTemp("", "registry")
	defer os.RemoveAll(dir)
	zones, spaces := town.Qiuai()
	if err := town.WriteRegistry(dir, zones, spaces); err != nil {
		panic(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// spaces.csv
	// zones.yaml
}
