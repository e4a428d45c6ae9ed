// Package controllers holds Mizzen's reconcilers. They stay thin: read from the cache, call the
// pure packages under internal/ to decide, apply the objects, and write status.
package controllers
