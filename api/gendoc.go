//go:build ignore

// gendoc converts openapi.yaml (the source, with YAML anchors) into
// openapi.json (what the binary embeds and serves). Run: go generate ./api
package main

import (
	"encoding/json"
	"log"
	"os"

	"go.yaml.in/yaml/v3"
)

func main() {
	src, err := os.ReadFile("openapi.yaml")
	if err != nil {
		log.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		log.Fatal(err)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("openapi.json", append(out, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}
