package registry

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// EncodeCursor returns the opaque cursor of a listing position: base64url
// of "<score>:<id>". The next page starts after that position.
func EncodeCursor(score int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(score, 10) + ":" + id))
}

// DecodeCursor is the inverse of EncodeCursor; anything else is an error
// wrapping ErrBadCursor.
func DecodeCursor(c string) (score int64, id string, err error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return 0, "", fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	s, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return 0, "", fmt.Errorf("%w: malformed", ErrBadCursor)
	}
	score, err = strconv.ParseInt(s, 10, 64)
	if err != nil || score < 0 {
		return 0, "", fmt.Errorf("%w: malformed", ErrBadCursor)
	}
	return score, id, nil
}

// logCursorPrefix tells a log cursor from a listing cursor.
const logCursorPrefix = "log:"

// EncodeLogCursor returns the cursor of a log page: the position of the
// last entry read, its event time in Unix ms and the store's tie-breaker
// among entries of that millisecond. The next page holds the entries that
// come after it (older), so entries added meanwhile never shift pages.
func EncodeLogCursor(ms int64, tie string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(logCursorPrefix + strconv.FormatInt(ms, 10) + ":" + tie))
}

// DecodeLogCursor is the inverse of EncodeLogCursor; anything else is an
// error wrapping ErrBadCursor.
func DecodeLogCursor(c string) (ms int64, tie string, err error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return 0, "", fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	s, ok := strings.CutPrefix(string(b), logCursorPrefix)
	if !ok {
		return 0, "", fmt.Errorf("%w: malformed", ErrBadCursor)
	}
	n, tie, ok := strings.Cut(s, ":")
	if !ok || tie == "" {
		return 0, "", fmt.Errorf("%w: malformed", ErrBadCursor)
	}
	ms, err = strconv.ParseInt(n, 10, 64)
	if err != nil || ms < 0 {
		return 0, "", fmt.Errorf("%w: malformed", ErrBadCursor)
	}
	return ms, tie, nil
}
