// Package rollout tells how far each rule (VirtualService, DestinationRule, Gateway) has reached
// the proxies, and turns that and the problems found into the status conditions of the rule.
//
// The proxy reconciler records in a Tracker what each proxy's written config carries: the mesh
// snapshot it was translated from and the rule versions that shaped it (translate's
// Resources.Rules). A rule version's rollout is then counted over its candidate proxies (those a
// change of the rule reconciles):
//
//   - a proxy translated from a snapshot that holds the rule's current generation is caught up:
//     it counts if the rule shapes its config, as updated if at that generation (a proxy that
//     kept an older version, because translation refused the new one, stays outdated);
//   - a proxy not caught up counts as outdated if an older version of the rule shapes its config,
//     else as unknown: it may or may not turn out to use the rule.
//
// A rollout is done when no proxy is unknown and every counted proxy is updated. Nothing here
// talks to the API server or reads a clock.
package rollout
