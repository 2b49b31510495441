// Command configdoc prints the README's configuration table from config.Vars.
package main

import (
	"fmt"

	"wecom-crm-bot/shared/config"
)

func main() { fmt.Print(config.MarkdownTable()) }
