package httpapi

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"

	"github.com/qiuai/parking/occupancy"
)

// The query parameters each operation takes are the ones openapi.yaml
// documents for it: a parameter the document does not name for the
// operation is refused, so a typo (?zon=Z01) is a 400 naming it rather
// than an answer for every zone, and the document stays the one list.

// oaParam is a parameter of the document, or a reference to one.
type oaParam struct {
	Name string `yaml:"name"`
	In   string `yaml:"in"`
	Ref  string `yaml:"$ref"`
}

// oaDoc is what knownParams reads of the document.
type oaDoc struct {
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Parameters map[string]oaParam `yaml:"parameters"`
	} `yaml:"components"`
}

// pathParam matches an OpenAPI path parameter, {id}.
var pathParam = regexp.MustCompile(`\{([^}/]+)\}`)

// knownParams returns the query parameters of every operation of the
// document, by "METHOD /path" with the path in Gin's form (/zones/:id).
var knownParams = sync.OnceValues(func() (map[string][]string, error) {
	var doc oaDoc
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	out := map[string][]string{}
	for path, item := range doc.Paths {
		var shared []oaParam
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&shared); err != nil {
				return nil, fmt.Errorf("openapi: %s parameters: %w", path, err)
			}
		}
		route := pathParam.ReplaceAllString(path, ":$1")
		for method, n := range item {
			if method == "parameters" || strings.HasPrefix(method, "x-") || n.Kind != yaml.MappingNode {
				continue
			}
			var op struct {
				Parameters []oaParam `yaml:"parameters"`
			}
			if err := n.Decode(&op); err != nil {
				return nil, fmt.Errorf("openapi: %s %s: %w", method, path, err)
			}
			names := []string{}
			for _, p := range append(slices.Clone(shared), op.Parameters...) {
				if p.Ref != "" {
					p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				}
				if p.In == "query" {
					names = append(names, p.Name)
				}
			}
			out[strings.ToUpper(method)+" "+route] = names
		}
	}
	return out, nil
})

// checkQuery refuses, with 400, a query parameter that the matched
// operation does not document, naming it and the ones it takes. A route
// the document lacks is not checked (openapi_test keeps them in step).
func checkQuery(c *gin.Context) {
	known, err := knownParams()
	if err != nil {
		fail(c, err)
		return
	}
	names, ok := known[c.Request.Method+" "+c.FullPath()]
	if !ok {
		c.Next()
		return
	}
	for name := range c.Request.URL.Query() {
		if !slices.Contains(names, name) {
			takes := "none"
			if len(names) > 0 {
				takes = strings.Join(names, ", ")
			}
			fail(c, occupancy.Errorf(occupancy.EINVALID, "unknown query parameter %q: this endpoint takes %s",
				truncate(name, maxParamLen), takes))
			return
		}
	}
	c.Next()
}
