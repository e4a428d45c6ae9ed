package validate

import (
	"errors"
	"fmt"
	"strings"
)

// isTokenChar reports whether c may appear in an HTTP header name (RFC 9110 "tchar").
func isTokenChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

const jwtClaimPrefix = "@request.auth.claims"

// isJWTClaimRoute reports whether a header match key is Istio's JWT-claim form,
// "@request.auth.claims.<claim>[.<claim>…]" or "@request.auth.claims[<claim>][<claim>…]" (the prefix
// is matched case-insensitively).
func isJWTClaimRoute(name string) bool {
	if len(name) < len(jwtClaimPrefix) || !strings.EqualFold(name[:len(jwtClaimPrefix)], jwtClaimPrefix) {
		return false
	}
	rest := name[len(jwtClaimPrefix):]
	switch {
	case strings.HasPrefix(rest, ".") && len(rest) > 1:
		return true
	case strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") && len(rest) > 2:
		return true
	}
	return false
}

// HTTP/2 pseudo-headers that may be matched on.
var matchablePseudoHeaders = map[string]bool{
	":method": true, ":scheme": true, ":authority": true, ":path": true, ":status": true,
}

// checkMatchHeaderName checks a key of match.headers / match.withoutHeaders: a token, one of the
// request pseudo-headers, or a JWT-claim route.
func checkMatchHeaderName(name string) error {
	if name == "" {
		return errors.New("header name cannot be empty")
	}
	if isJWTClaimRoute(name) || matchablePseudoHeaders[name] || isToken(name) {
		return nil
	}
	return fmt.Errorf("%q is not a valid header name", name)
}

// checkCORSHeaderName checks an entry of corsPolicy.allowHeaders / exposeHeaders: a token or "*".
func checkCORSHeaderName(name string) error {
	if name == "*" || isToken(name) {
		return nil
	}
	if name == "" {
		return errors.New("header name cannot be empty")
	}
	return fmt.Errorf("%q is not a valid header name", name)
}

// headerOp says where a header operation applies; request set/add may target the authority.
type headerOp int

const (
	requestSetOrAdd headerOp = iota
	otherHeaderOp            // request remove, response set/add/remove
)

func isAuthorityHeader(name string) bool {
	return strings.EqualFold(name, ":authority") || strings.EqualFold(name, "host")
}

// checkHeaderOperationName returns (reason, error) for a header named in a set/add/remove
// operation. Pseudo-headers and Host may not be touched, except that request set/add may rewrite
// the authority (":authority" or "Host"). The name must also be one Envoy accepts as a header key
// (non-empty, no NUL, CR or LF).
func checkHeaderOperationName(name string, op headerOp) (string, error) {
	if err := checkEnvoyHeaderName(name); err != nil {
		return ReasonInvalidHeaderName, err
	}
	internal := strings.HasPrefix(name, ":") || strings.EqualFold(name, "host")
	if !internal || op == requestSetOrAdd && isAuthorityHeader(name) {
		return "", nil
	}
	if strings.EqualFold(name, "host") {
		return ReasonForbiddenHeader, fmt.Errorf("header %q cannot be modified (rewrite the authority with a request set instead)", name)
	}
	return ReasonForbiddenHeader, fmt.Errorf("header %q cannot be modified: names starting with ':' are pseudo-headers", name)
}

// checkEnvoyHeaderName checks what Envoy itself demands of a header name it is given: not empty,
// and no NUL, CR or LF.
func checkEnvoyHeaderName(name string) error {
	if name == "" {
		return errors.New("header name cannot be empty")
	}
	if strings.ContainsAny(name, "\x00\r\n") {
		return fmt.Errorf("header name %q holds NUL, CR or LF", name)
	}
	return nil
}

// checkHeaderValue checks a header value Envoy will format: no control characters other than
// horizontal tab, and well-formed %COMMAND% / %COMMAND(args)% expressions with "%%" escaping a
// literal percent sign.
func checkHeaderValue(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("header value %q holds control character %#02x", v, c)
		}
	}
	return checkHeaderFormat(v)
}

// checkHeaderFormat scans the %…% expressions of a header value the way Envoy's header formatter
// parser does. Arguments are either a JSON-style array of quoted strings, %CMD(["a", "b"])%, or
// bare text running to the closing parenthesis, %CMD(a)%.
func checkHeaderFormat(v string) error {
	type state int
	const (
		literal      state = iota
		command            // inside %NAME
		argsOpen           // after "(": expect "[" or bare text
		quoteOpen          // inside [ ]: expect a quoted string
		argText            // inside a quoted string or bare argument text
		afterString        // after a quoted string: expect "," or "]"
		parenClose         // after "]": expect ")"
		percentClose       // after ")": expect "%"
	)
	st := literal
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch st {
		case literal:
			if c != '%' {
				continue
			}
			if i+1 == len(v) {
				return fmt.Errorf("header value %q ends in an unescaped %%", v)
			}
			if v[i+1] == '%' {
				i++
				continue
			}
			st = command
		case command:
			switch c {
			case '%':
				st = literal
			case '(':
				st = argsOpen
			}
		case argsOpen:
			switch {
			case c == '[':
				st = quoteOpen
			case c != ' ':
				st = argText
			}
		case quoteOpen:
			switch {
			case c == '"':
				st = argText
			case c != ' ':
				return fmt.Errorf("header value %q: expected '\"' at offset %d", v, i)
			}
		case argText:
			switch c {
			case '\\':
				if i+1 == len(v) {
					return fmt.Errorf("header value %q ends in a backslash", v)
				}
				i++
			case ')':
				st = percentClose
			case '"':
				st = afterString
			}
		case afterString:
			switch {
			case c == ',':
				st = quoteOpen
			case c == ']':
				st = parenClose
			case c != ' ':
				return fmt.Errorf("header value %q: expected ',' or ']' at offset %d", v, i)
			}
		case parenClose:
			switch {
			case c == ')':
				st = percentClose
			case c != ' ':
				return fmt.Errorf("header value %q: expected ')' at offset %d", v, i)
			}
		case percentClose:
			switch {
			case c == '%':
				st = literal
			case c != ' ':
				return fmt.Errorf("header value %q: expected '%%' at offset %d", v, i)
			}
		}
	}
	if st != literal {
		return fmt.Errorf("header value %q has an unterminated %%…%% expression", v)
	}
	return nil
}
