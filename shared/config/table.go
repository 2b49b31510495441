package config

import (
	"fmt"
	"strings"
)

// MarkdownTable renders Vars as the README's configuration table. A test
// keeps the README in step with it.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Secret | Where | What it does |\n|---|---|---|---|---|\n")
	for _, v := range Vars {
		def := "—"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		sec := ""
		if v.Secret {
			sec = "yes"
		}
		where := v.Where
		if where == "" {
			where = "all"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", v.Name, def, sec, where, strings.ReplaceAll(v.Help, "|", `\|`))
	}
	return b.String()
}
