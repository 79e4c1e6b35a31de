package config_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
)

func TestLoad_ViewURLTemplate(t *testing.T) {
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	require.Empty(t, cfg.View.URLTemplate, "off by default")

	const tpl = "https://viewer.example.com/reports/{reportId}?token={token}"
	cfg, err = config.Load("", []string{"SIGIL_VIEW_URL_TEMPLATE=" + tpl})
	require.NoError(t, err)
	require.Equal(t, tpl, cfg.View.URLTemplate)

	for _, bad := range []string{
		"/reports/{reportId}",                 // not absolute
		"ftp://viewer.example.com/{reportId}", // not http(s)
		"https://viewer.example.com/reports",  // no placeholder
		"https:///reports/{reportId}",         // no host
		"https://viewer.example.com/%zz/{token}",
	} {
		_, err := config.Load("", []string{"SIGIL_VIEW_URL_TEMPLATE=" + bad})
		require.Error(t, err, bad)
		require.True(t, strings.Contains(err.Error(), "view.url_template"), err.Error())
		require.True(t, strings.Contains(err.Error(), "SIGIL_VIEW_URL_TEMPLATE"), err.Error())
	}
}
