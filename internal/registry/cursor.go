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

// EncodeLogCursor returns the cursor of a log page: the number of older
// entries still to read. Counting from the oldest end keeps pages stable
// while new entries are added at the newest end.
func EncodeLogCursor(remaining int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(logCursorPrefix + strconv.Itoa(remaining)))
}

// DecodeLogCursor is the inverse of EncodeLogCursor; anything else is an
// error wrapping ErrBadCursor.
func DecodeLogCursor(c string) (remaining int, err error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return 0, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	s, ok := strings.CutPrefix(string(b), logCursorPrefix)
	if !ok {
		return 0, fmt.Errorf("%w: malformed", ErrBadCursor)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > MaxLogs {
		return 0, fmt.Errorf("%w: malformed", ErrBadCursor)
	}
	return n, nil
}
