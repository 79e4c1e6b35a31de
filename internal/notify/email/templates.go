package email

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/token"
)

//go:embed templates/*
var embedded embed.FS

// Data is what a template sees. It is built from the Event only: there is
// no field for a JWT or a jti, so no template can show one.
type Data struct {
	Subject   string // the rendered subject (for the HTML <title>)
	EventID   string
	Type      string
	At        string // when it happened, "2006-01-02 15:04 UTC"
	Owner     string
	Actor     string
	Token     *TokenData
	How       string // token.revoked: delete, regenerate, revoke-all, cleanup
	Lead      string // token.expiring: "7 days", "1 day", "6 hours"
	Role      string // owner.*
	Failures  string // token.auth_failures
	ManageURL string
}

// TokenData is the token an event concerns, as templates show it.
type TokenData struct {
	ID        string
	Name      string
	Type      string
	TypeLabel string // "API token", "report link", "app link"
	Scopes    []Scope
	ExpiresAt string // "" for never
	Generated string
	ReportID  string
	AppID     string
}

// Scope is a scope and its configured label.
type Scope struct{ Name, Label string }

// set is the three templates of one event type.
type set struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// loadTemplates parses the embedded templates and, for each file present
// in dir (when dir is not ""), the override instead: <type>.subject.txt,
// <type>.txt, <type>.html, layout.txt, layout.html.
func loadTemplates(dir string) (map[string]set, error) {
	read := func(name string) (string, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("template %s: %w", name, err)
			}
		}
		b, err := embedded.ReadFile("templates/" + name)
		return string(b), err
	}
	layoutText, err := read("layout.txt")
	if err != nil {
		return nil, err
	}
	layoutHTML, err := read("layout.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string]set, len(notify.Types))
	for _, typ := range notify.Types {
		subj, err := read(typ + ".subject.txt")
		if err != nil {
			return nil, err
		}
		txt, err := read(typ + ".txt")
		if err != nil {
			return nil, err
		}
		h, err := read(typ + ".html")
		if err != nil {
			return nil, err
		}
		var s set
		if s.subject, err = texttemplate.New(typ + ".subject.txt").Option("missingkey=error").Parse(subj); err != nil {
			return nil, err
		}
		if s.text, err = texttemplate.New("layout").Option("missingkey=error").Parse(layoutText); err != nil {
			return nil, fmt.Errorf("layout.txt: %w", err)
		}
		if _, err = s.text.New(typ + ".txt").Parse(txt); err != nil {
			return nil, err
		}
		if s.html, err = htmltemplate.New("layout").Option("missingkey=error").Parse(layoutHTML); err != nil {
			return nil, fmt.Errorf("layout.html: %w", err)
		}
		if _, err = s.html.New(typ + ".html").Parse(h); err != nil {
			return nil, err
		}
		out[typ] = s
	}
	// Every template must render sample data now, not at the first event.
	for typ, s := range out {
		if _, _, _, err := s.render(sampleData(typ)); err != nil {
			return nil, fmt.Errorf("template of %s: %w", typ, err)
		}
	}
	return out, nil
}

// render returns the subject (one line), the text body and the HTML body.
func (s set) render(d Data) (subject, text, html string, err error) {
	var b bytes.Buffer
	if err := s.subject.Execute(&b, d); err != nil {
		return "", "", "", err
	}
	subject = oneLine(b.String())
	d.Subject = subject
	b.Reset()
	if err := s.text.ExecuteTemplate(&b, "layout", d); err != nil {
		return "", "", "", err
	}
	text = b.String()
	b.Reset()
	if err := s.html.ExecuteTemplate(&b, "layout", d); err != nil {
		return "", "", "", err
	}
	return subject, text, b.String(), nil
}

// oneLine joins the lines of s with spaces and trims it, so that no
// subject template can add a header.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

// TimeLayout is how dates appear in the mails.
const TimeLayout = "2006-01-02 15:04 UTC"

// typeLabel names a token kind for people.
func typeLabel(kind string) string {
	switch kind {
	case token.KindAPI:
		return "API token"
	case token.KindReport:
		return "report link"
	case token.KindAppView:
		return "app link"
	}
	return "token"
}

// humanLead writes a lead time for people: "7 days", "1 day", "6 hours", "30 minutes".
func humanLead(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	}
	return d.String()
}

// buildData is what the templates of e see; scopes labels come from the
// registry's scopes config.
func buildData(e notify.Event, scopes map[string]string, manageURL string) Data {
	d := Data{
		EventID: e.ID, Type: e.Type, At: e.At.UTC().Format(TimeLayout),
		Owner: e.Owner, Actor: e.Actor, ManageURL: manageURL,
		How: e.Data["how"], Role: e.Data["role"], Failures: e.Data["failures"],
	}
	if lead, err := time.ParseDuration(e.Data["lead"]); err == nil {
		d.Lead = humanLead(lead)
	} else {
		d.Lead = e.Data["lead"]
	}
	if t := e.Token; t != nil {
		td := &TokenData{ID: t.ID, Name: t.Name, Type: t.Type, TypeLabel: typeLabel(t.Type), ReportID: t.ReportID, AppID: t.AppID}
		for _, sc := range t.Scopes {
			label := scopes[sc]
			if label == "" {
				label = sc
			}
			td.Scopes = append(td.Scopes, Scope{Name: sc, Label: label})
		}
		if t.ExpiresAt != nil {
			td.ExpiresAt = t.ExpiresAt.UTC().Format(TimeLayout)
		}
		if t.GeneratedAt != nil {
			td.Generated = t.GeneratedAt.UTC().Format(TimeLayout)
		}
		if d.Owner == "" {
			d.Owner = t.Owner
		}
		d.Token = td
	} else {
		d.Token = &TokenData{TypeLabel: "token"}
	}
	return d
}

// sampleData is what templates are tried with when they are loaded.
func sampleData(typ string) Data {
	exp := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	e := notify.Event{ID: "sample", Type: typ, At: exp, Owner: "owner", Actor: "client",
		Token: &notify.Token{ID: "id", Type: token.KindAPI, Name: "name", Owner: "owner", Scopes: []string{"s"}, ExpiresAt: &exp, GeneratedAt: &exp},
		Data:  map[string]string{"how": "delete", "lead": "168h", "role": "api-tokens", "failures": "10"}}
	return buildData(e, map[string]string{"s": "S"}, "https://example.com/tokens")
}

// knownType reports whether typ has templates.
func knownType(typ string) bool { return slices.Contains(notify.Types, typ) }
