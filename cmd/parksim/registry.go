package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator/town"
)

// runRegistry is `parksim registry`: it generates a town registry (the Qiuai
// town, or a synthetic city for load tests), writes zones.yaml and
// spaces.csv, reads them back the way parkd will, and says what it wrote.
func runRegistry(args []string) error {
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	out := fs.String("out", "configs/qiuai", "folder to write zones.yaml and spaces.csv into")
	spaces := fs.Int("spaces", 0, "number of spaces: 0 for the Qiuai town as designed, more for a synthetic city of that size")
	seed := fs.Int64("seed", 1, "seed of the synthetic city (the Qiuai town does not depend on it)")
	models := fs.String("models", "", "comma-separated sensor `models` given to the spaces in turn (native, bosch-tps110, nwave-nps405, nwave-nps310);\n"+
		"LoRaWAN spaces get a DevEUI derived from their sensor id and spaces.csv a model column (default: none, no column)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: parksim registry [-out DIR] [-spaces N] [-seed N] [-models LIST]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("registry: unexpected argument %q", fs.Arg(0))
	}
	ms, err := parseModels(*models)
	if err != nil {
		return err
	}
	return registryWrite(os.Stdout, *out, town.Options{Spaces: *spaces, Seed: *seed}, ms...)
}

// parseModels parses the -models list.
func parseModels(list string) ([]occupancy.Model, error) {
	if list == "" {
		return nil, nil
	}
	var out []occupancy.Model
	for _, name := range strings.Split(list, ",") {
		m := occupancy.Model(strings.TrimSpace(name))
		if m == "" || !m.Valid() {
			return nil, fmt.Errorf("registry: model %q is not native, bosch-tps110, nwave-nps405 or nwave-nps310", name)
		}
		out = append(out, m)
	}
	return out, nil
}

// registryWrite generates the town, gives its spaces the models in turn (if
// any), writes it into dir, checks that it loads, and reports to w.
func registryWrite(w io.Writer, dir string, opts town.Options, models ...occupancy.Model) error {
	start := time.Now()
	zones, spaces, err := town.Generate(opts)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	town.AssignModels(spaces, models)
	generated := time.Since(start)
	if err := town.WriteRegistry(dir, zones, spaces); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	written := time.Since(start)
	if _, err := occupancy.LoadRegistry(dir); err != nil {
		return fmt.Errorf("registry: reading back %s: %w", dir, err)
	}
	fmt.Fprintf(w, "wrote %s (%d zones) and %s (%d spaces)\n",
		filepath.Join(dir, "zones.yaml"), len(zones), filepath.Join(dir, "spaces.csv"), len(spaces))
	fmt.Fprintf(w, "kinds:  %s\n", registryKinds(spaces))
	fmt.Fprintf(w, "phases: %s\n", registryPhases(spaces))
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(w, "took %v (generate %v, write %v, load check %v)\n", ms(time.Since(start)),
		ms(generated), ms(written-generated), ms(time.Since(start)-written))
	return nil
}

// registryKinds renders the number of spaces of each kind, in occupancy.Kinds order.
func registryKinds(spaces []occupancy.Space) string {
	counts := map[occupancy.Kind]int{}
	for _, s := range spaces {
		counts[s.Kind]++
	}
	parts := make([]string, 0, len(occupancy.Kinds))
	for _, k := range occupancy.Kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// registryPhases renders the number of spaces in each rollout phase.
func registryPhases(spaces []occupancy.Space) string {
	var counts [10]int
	for _, s := range spaces {
		counts[s.Phase]++ // WriteRegistry has checked 0 <= Phase <= 9
	}
	var parts []string
	for p, n := range counts {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d: %d", p, n))
		}
	}
	return strings.Join(parts, ", ")
}
