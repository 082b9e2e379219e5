// Package config loads the sfmcwatch YAML config: strict decoding over
// yaml.Node (unknown keys are errors with file:line:column, a dotted key path
// and a "did you mean" suggestion), defaults and validation in one pass that
// reports every problem at once (*Error), non-fatal warnings (Config.Warnings),
// redacting secrets (Secret) with ${ENV} expansion and *_file twins, a masked
// dump (Dump, DumpJSON) and hot reload (Holder, WatchSIGHUP, ReloadHandler).
//
// Sections: storage, server, logging, monitors (defaults for every tenant),
// tenants (SFMC business units: endpoints, credentials, budget, time zone,
// monitors, per-object overrides), rules (one block per rule id), ingest
// (pushed and tailed inputs) and alerting (reserved). Every key, its type and
// its default are listed in docs/CONFIG.md, generated from the `doc` struct
// tags by WriteReference; examples/sfmcwatch.yaml is a commented example.
//
// ${NAME} is expanded only in secret and URL fields; anywhere else it is an
// error, so a literal "$" in a template or regular expression never changes
// meaning. A minimal config:
//
//	tenants:
//	  - name: prod
//	    subdomain: mc563885gzs27c5t9-63k636ttgm
//	    client_id: abc123
//	    client_secret: ${SFMC_CLIENT_SECRET}
//	    account_id: "510000123"
//	    edition: corporate
package config
