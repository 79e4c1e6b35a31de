package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/sigil-dev/sigil/pkg/client"
)

// A backend mints an embed token for its signed-in user with a dashboard
// credential; the frontend hands it to the embedded dashboard.
func ExampleClient_Mint() {
	c, err := client.New("https://sigil.example.com")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.Mint(context.Background(), client.MintRequest{
		DashboardID: "sales", DashboardSecret: "…from a secret store…",
		TokenExpiry: 900, Params: map[string]any{"locale": "de-DE", "currency": "EUR"},
	})
	if errors.Is(err, client.ErrUnauthorized) {
		log.Fatal("wrong dashboard secret")
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.ExpiresIn)
}

// Errors are *client.Error values: errors.Is classifies them, errors.As
// gives the status, code, message and the field the server named.
func ExampleError() {
	c, _ := client.New("https://sigil.example.com", client.WithCredentials("informer", "…"))
	_, err := c.CreateToken(context.Background(), client.CreateTokenRequest{Type: client.KindReport, ReportID: "q3", ExpiresIn: "2w"})
	var ce *client.Error
	switch {
	case errors.Is(err, client.ErrInvalidRequest) && errors.As(err, &ce):
		fmt.Printf("fix field %s: %s\n", ce.Field, ce.Message)
	case errors.Is(err, client.ErrUnavailable) && errors.As(err, &ce):
		fmt.Printf("retry in %s\n", ce.RetryAfter)
	case err != nil:
		log.Fatal(err)
	}
}

// A registered report token, generated again later (the previous JWT is
// revoked at once) and finally deleted.
func ExampleClient_CreateToken() {
	ctx := context.Background()
	c, _ := client.New("https://sigil.example.com", client.WithCredentials("informer", "…"))
	rec, err := c.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindReport, ReportID: "q3", Name: "board pack", ExpiresIn: "30d"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Status) // generated-inactive; rec.Token is the JWT, shown this once
	if _, err := c.GenerateToken(ctx, rec.ID); err != nil {
		log.Fatal(err)
	}
	if err := c.DeleteToken(ctx, rec.ID); err != nil {
		log.Fatal(err)
	}
}

// Publishing a report to the cloud deployment configured on the server,
// then listing local and cloud tokens together.
func ExampleClient_PublishReport() {
	ctx := context.Background()
	c, _ := client.New("https://sigil.internal", client.WithCredentials("informer", "…"))
	pub, err := c.PublishReport(ctx, "q3", false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pub.Cloud, pub.URL) // true https://public.example.com/view/eyJ…
	list, err := c.ReportTokens(ctx, "q3")
	if err != nil {
		log.Fatal(err)
	}
	if list.Warning != nil {
		fmt.Println("cloud tokens missing:", list.Warning.Message)
	}
}
