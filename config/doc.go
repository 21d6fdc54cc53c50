// Package config loads and validates pullcheck's settings from the environment.
//
// Settings are read once, in main, through an injected lookup function (os.LookupEnv in
// production), and every problem is reported at once so that an operator fixes a broken
// configuration in one pass. Secrets use the Secret type, which never prints its value.
package config
