package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
)

const smtpPass = "smtp-pass-do-not-print-0123"

// TestNotify_Defaults: email off, warnings 7 days and 1 day, scans every minute.
func TestNotify_Defaults(t *testing.T) {
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	assert.Empty(t, cfg.Notify.SMTPURL)
	assert.Equal(t, []time.Duration{168 * time.Hour, 24 * time.Hour}, cfg.Notify.ExpiryWarnings)
	assert.Equal(t, time.Minute, cfg.Notify.ExpiryScanInterval)
	assert.Equal(t, 30*time.Second, cfg.Notify.SMTPTimeout)
}

// TestNotify_SecretNeverShown: the SMTP password is read from the
// environment or a file and appears in no printed, logged or %#v form of
// the configuration, nor in a validation error.
func TestNotify_SecretNeverShown(t *testing.T) {
	cfg, err := config.Load("", []string{
		"SIGIL_NOTIFY_SMTP_URL=smtps://sigil:" + smtpPass + "@mail.example.com:465",
		"SIGIL_NOTIFY_FROM=sigil <sigil@example.com>", "SIGIL_NOTIFY_EXPIRY_WARNINGS=72h,2h",
	})
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{72 * time.Hour, 2 * time.Hour}, cfg.Notify.ExpiryWarnings)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", slog.Any("notify", cfg.Notify))
	for _, s := range []string{fmt.Sprint(cfg.Notify), fmt.Sprintf("%+v", cfg.Notify), fmt.Sprintf("%#v", cfg.Notify),
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), logs.String(), cfg.Notify.SMTPURLRedacted()} {
		assert.NotContains(t, s, smtpPass)
	}
	assert.Contains(t, cfg.Notify.SMTPURLRedacted(), "sigil:xxxxx@mail.example.com")

	// From a file, mode 600; in prod a readable file is refused.
	dir := t.TempDir()
	f := filepath.Join(dir, "smtp-url")
	require.NoError(t, os.WriteFile(f, []byte("smtp://u:"+smtpPass+"@mail.example.com\n"), 0o600))
	cfg, err = config.Load("", []string{"SIGIL_NOTIFY_SMTP_URL_FILE=" + f, "SIGIL_NOTIFY_FROM=sigil@example.com"})
	require.NoError(t, err)
	assert.Equal(t, "smtp://u:"+smtpPass+"@mail.example.com", cfg.Notify.SMTPURL)
	require.NoError(t, os.Chmod(f, 0o644))
	_, err = config.Load("", []string{"SIGIL_MODE=prod", "SIGIL_NOTIFY_SMTP_URL_FILE=" + f, "SIGIL_NOTIFY_FROM=sigil@example.com"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "notify.smtp_url_file")
	assert.NotContains(t, err.Error(), smtpPass)
}

// TestNotify_Invalid: each bad key is named, and no error quotes the URL.
func TestNotify_Invalid(t *testing.T) {
	for _, tc := range []struct {
		env []string
		key string
	}{
		{[]string{"SIGIL_NOTIFY_SMTP_URL=http://u:" + smtpPass + "@mail.example.com", "SIGIL_NOTIFY_FROM=a@example.com"}, "notify.smtp_url"},
		{[]string{"SIGIL_NOTIFY_SMTP_URL=smtp://u:" + smtpPass + "@mail.example.com?starttls=maybe", "SIGIL_NOTIFY_FROM=a@example.com"}, "notify.smtp_url"},
		{[]string{"SIGIL_NOTIFY_SMTP_URL=smtp://u:" + smtpPass + "@mail.example.com?verify=no", "SIGIL_NOTIFY_FROM=a@example.com"}, "notify.smtp_url"},
		{[]string{"SIGIL_NOTIFY_SMTP_URL=smtps://u:" + smtpPass + "@mail.example.com?starttls=none", "SIGIL_NOTIFY_FROM=a@example.com"}, "notify.smtp_url"},
		{[]string{"SIGIL_NOTIFY_SMTP_URL=smtp://u:" + smtpPass + "@mail.example.com:99999", "SIGIL_NOTIFY_FROM=a@example.com"}, "notify.smtp_url"},
		{[]string{"SIGIL_MODE=prod", "SIGIL_NOTIFY_SMTP_URL=smtp://u:" + smtpPass + "@mail.example.com?starttls=opportunistic", "SIGIL_NOTIFY_FROM=a@example.com"}, "notify.smtp_url"},
		{[]string{"SIGIL_NOTIFY_SMTP_URL=smtp://u:" + smtpPass + "@mail.example.com"}, "notify.from"},
		{[]string{"SIGIL_NOTIFY_FROM=a@example.com, b@example.com"}, "notify.from"},
		{[]string{"SIGIL_NOTIFY_MANAGE_URL=javascript:alert(1)"}, "notify.manage_url"},
		{[]string{"SIGIL_NOTIFY_TEMPLATES_DIR=/nonexistent/templates"}, "notify.templates_dir"},
		{[]string{"SIGIL_NOTIFY_EXPIRY_WARNINGS=24h,24h"}, "notify.expiry_warnings"},
		{[]string{"SIGIL_NOTIFY_EXPIRY_WARNINGS=1s"}, "notify.expiry_warnings"},
		{[]string{"SIGIL_NOTIFY_EXPIRY_SCAN_INTERVAL=10ms"}, "notify.expiry_scan_interval"},
	} {
		_, err := config.Load("", tc.env)
		require.Error(t, err, "%v", tc.env)
		assert.Contains(t, err.Error(), tc.key, "%v", tc.env)
		assert.NotContains(t, err.Error(), smtpPass)
		assert.False(t, strings.Contains(err.Error(), "mail.example.com"), "the URL is not quoted: %v", err)
	}
}
