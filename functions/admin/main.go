// Command admin is the HTTP function serving the admin console and JSON API
// (/admin/…) and the chat-toolbar sidebar page (/sidebar/…). It refuses to
// start without ADMIN_TOKEN. See docs/functions/admin.md.
package main

import (
	"context"

	"wecom-crm-bot/shared/app"
	"wecom-crm-bot/shared/platform"
)

func main() {
	app.Main("admin", func(ctx context.Context, a *app.App) (platform.Handlers, func(context.Context) error, error) {
		h, err := a.Admin(ctx)
		if err != nil {
			return platform.Handlers{}, nil, err
		}
		return platform.Handlers{HTTP: h}, nil, nil
	})
}
