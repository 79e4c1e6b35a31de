package app

import (
	"fmt"

	"github.com/sigil-dev/sigil/internal/cloud"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/pkg/client"
)

// newCloud builds the cloud publisher of cloud.*; nil (publishing off)
// without cloud.url.
func newCloud(cc config.Cloud) (httpapi.Cloud, error) {
	if cc.URL == "" {
		return nil, nil
	}
	api, err := client.New(cc.URL, client.WithCredentials(cc.ClientID, cc.ClientSecret), client.WithUserAgent("sigil-cloud-publisher"))
	if err != nil {
		return nil, fmt.Errorf("cloud.url: %w", err)
	}
	return cloud.New(cloud.Config{API: api, PublicURL: cc.Public(), Timeout: cc.Timeout}), nil
}
