// Package config turns the environment (plain variables, SCF environment, or
// an AWS Secrets Manager secret overlaid by platform.LoadSecrets) into one
// typed Config. Every variable the product reads is listed in Vars, which the
// README table and the deployment-template checks are tested against.
package config
