//go:build !unix

package client_test

// plantEnv is the helper mode of TestMain, which only Unix has.
const plantEnv = "MOTHREADS_CLIENT_TEST_PLANT"

func runPlant(string) int { return 1 }
