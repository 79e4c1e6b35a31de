package app

import (
	"fmt"

	"github.com/sigil-dev/sigil/internal/cloud"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/pkg/client"
)

// newReports builds the service of a report's tokens over the local
// registry and, with cloud.url, the cloud publisher (publishing off
// without it).
func newReports(cc config.Cloud, local cloud.Local) (*cloud.Service, error) {
	var remote cloud.Remote // stays a nil interface when publishing is off
	if cc.URL != "" {
		api, err := client.New(cc.URL, client.WithCredentials(cc.ClientID, cc.ClientSecret), client.WithUserAgent("sigil-cloud-publisher"))
		if err != nil {
			return nil, fmt.Errorf("cloud.url: %w", err)
		}
		remote = cloud.New(cloud.Config{API: api, PublicURL: cc.Public(), Timeout: cc.Timeout})
	}
	return cloud.NewService(cloud.ServiceConfig{Local: local, Remote: remote})
}
