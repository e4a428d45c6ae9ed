package validate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Problem is one semantic error found in a spec.
type Problem struct {
	// Field is the path of the offending value, e.g. "spec.http[0].match[1].uri.regex".
	// Map entries are addressed by key: "spec.http[0].headers.request.set[:path]".
	Field string
	// Reason is a short CamelCase word naming the broken rule, e.g. "InvalidRegex".
	Reason string
	// Message says what is wrong in words a user can act on.
	Message string
}

// String renders the problem as "field: message (Reason)".
func (p Problem) String() string {
	return fmt.Sprintf("%s: %s (%s)", p.Field, p.Message, p.Reason)
}

// Join renders problems as one line, "field: message (Reason); …", for a condition message or a
// webhook denial.
func Join(ps []Problem) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// Reasons reported by this package. Each names one rule of the package doc.
const (
	ReasonInvalidRegex             = "InvalidRegex"
	ReasonRegexTooLong             = "RegexTooLong"
	ReasonInvalidRetryOn           = "InvalidRetryOn"
	ReasonInvalidHeaderName        = "InvalidHeaderName"
	ReasonForbiddenHeader          = "ForbiddenHeader"
	ReasonInvalidHeaderValue       = "InvalidHeaderValue"
	ReasonAuthorityRewriteConflict = "AuthorityRewriteConflict"
	ReasonJWTClaimRouteOnMesh      = "JWTClaimRouteOnMesh"
	ReasonInvalidHost              = "InvalidHost"
	ReasonDuplicateHost            = "DuplicateHost"
	ReasonInvalidSNIHost           = "InvalidSNIHost"
	ReasonSNIHostNotInHosts        = "SNIHostNotInHosts"
	ReasonInvalidGatewayName       = "InvalidGatewayName"
	ReasonInvalidLabel             = "InvalidLabel"
	ReasonInvalidSubnet            = "InvalidSubnet"
	ReasonRedirectConflict         = "RedirectConflict"
	ReasonRedirectNeedsPrefixMatch = "RedirectNeedsPrefixMatch"
	ReasonInvalidExportTo          = "InvalidExportTo"
	ReasonDuplicateExportTo        = "DuplicateExportTo"
	ReasonExportToPublicMixed      = "ExportToPublicMixed"
	ReasonExportToWithSelector     = "ExportToWithWorkloadSelector"
	ReasonNotPrime                 = "NotPrime"
	ReasonRingSizeTooLarge         = "RingSizeTooLarge"
	ReasonInvalidCookieName        = "InvalidCookieName"
	ReasonDuplicateCookieAttribute = "DuplicateCookieAttribute"
	ReasonLocalityConflict         = "LocalityConflict"
	ReasonInvalidLocality          = "InvalidLocality"
	ReasonInvalidLocalityWeight    = "InvalidLocalityWeight"
	ReasonInvalidLocalityFailover  = "InvalidLocalityFailover"
	ReasonInvalidFailoverPriority  = "InvalidFailoverPriority"
	ReasonKeepaliveIncomplete      = "KeepaliveIncomplete"
	ReasonInvalidCredentialName    = "InvalidCredentialName"
	ReasonInvalidTunnelHost        = "InvalidTunnelHost"
	ReasonInvalidGatewayHost       = "InvalidGatewayHost"
	ReasonInvalidBind              = "InvalidBind"
	ReasonDelegateHasHosts         = "DelegateHasHosts"
	ReasonDelegateNotExported      = "DelegateNotExported"
)

// Reasons of warnings: specs Istio's webhook accepts with a warning, and so does Mizzen.
const (
	WarnLegacyGatewayName      = "LegacyGatewayName"
	WarnSNIHostIsIP            = "SNIHostIsIP"
	WarnDeprecatedField        = "DeprecatedField"
	WarnAbortWithoutErrorType  = "AbortWithoutErrorType"
	WarnLargeDirectResponse    = "LargeDirectResponse"
	WarnUnreachableRule        = "UnreachableRule"
	WarnIneffectiveMatch       = "IneffectiveMatch"
	WarnFailoverWithoutOutlier = "FailoverWithoutOutlierDetection"
	WarnHTTPSRedirectNotHTTP   = "HTTPSRedirectOnNonHTTP"
	WarnOldTLSWithoutCiphers   = "OldTLSWithoutCipherSuites"
	WarnInvalidCipherSuite     = "InvalidCipherSuite"
	WarnDuplicateCipherSuite   = "DuplicateCipherSuite"
	WarnCertificatesIgnored    = "CertificatesIgnored"
)

// problems collects errors and warnings in the order the walkers find them.
type problems struct {
	errs, warns []Problem
}

// add records an error: Istio's webhook would reject the object.
func (ps *problems) add(p *field.Path, reason, format string, args ...any) {
	ps.errs = append(ps.errs, Problem{Field: p.String(), Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// warn records a warning: Istio's webhook would accept the object and answer with a warning.
func (ps *problems) warn(p *field.Path, reason, format string, args ...any) {
	ps.warns = append(ps.warns, Problem{Field: p.String(), Reason: reason, Message: fmt.Sprintf(format, args...)})
}
