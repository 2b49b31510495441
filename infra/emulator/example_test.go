package emulator_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"wecom-crm-bot/infra/emulator"
)

// Example starts an emulator, lets a customer speak and reads the log the
// way a bot would, then replies.
func Example() {
	emu, err := emulator.New(emulator.Config{
		CorpID: "ww6a112864f8022910", Token: "kz7Yx62CH8SaLN",
		EncodingAESKey: "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP",
		KfSecret:       "kf-secret", OpenKfID: "wkDEMO",
		// CallbackURL: "http://127.0.0.1:8080/wecom/kf", // where callbacks go
	})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	srv := httptest.NewServer(emu.Handler()) // point the WeCom client's base URL here
	defer srv.Close()

	ctx := context.Background()
	_ = emu.CustomerSays(ctx, "wmAlice", "你好") // error only for bad input
	for _, line := range emu.Transcript("wmAlice") {
		fmt.Println(line.From, line.Text)
	}
	state, _ := emu.SessionState("wmAlice")
	fmt.Println("state", state)
	// Output:
	// customer 你好
	// state 0
}
