package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/hexlambda/hexlambda/infra/deploy"
	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/infra/workspace"
	"github.com/hexlambda/hexlambda/pkg/cfn"
)

type paramFlags map[string]string

func (p paramFlags) String() string { return fmt.Sprint(map[string]string(p)) }

func (p paramFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("--param wants KEY=VALUE, got %q", s)
	}
	p[k] = v
	return nil
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type command struct {
	service, stage, arch, consumer, root, dist, out, usagePlan string
	force, asJSON, check                                       bool
	poll                                                       time.Duration
	params                                                     paramFlags
	allowAnonymous, audit                                      bool
	groups                                                     string
	stdout, stderr                                             io.Writer
	loadConfig                                                 func(context.Context) (aws.Config, error)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, loadConfig func(context.Context) (aws.Config, error)) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		_, _ = fmt.Fprintln(stderr, "usage: deploy bootstrap|build|package|deploy|diff|outputs|destroy|keys|templates [flags]  (deploy CMD -h for flags)")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := &command{params: paramFlags{}, stdout: stdout, stderr: stderr, loadConfig: loadConfig}
	name, rest := args[0], args[1:]
	keyAction := ""
	if name == "keys" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			_, _ = fmt.Fprintln(stderr, "deploy: keys needs issue, list or revoke")
			return 2
		}
		keyAction, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("deploy "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.service, "service", "", "service: "+strings.Join(stacks.Names(), ", ")+", or "+stacks.NetworkName+" (the private network)")
	fs.StringVar(&c.stage, "stage", "dev", "stage (prod and production are production stages)")
	fs.StringVar(&c.arch, "arch", "arm64", "function architecture: arm64, amd64 or host")
	fs.StringVar(&c.consumer, "consumer", "", "API key consumer (keys issue|revoke), e.g. jenkins")
	fs.StringVar(&c.usagePlan, "usage-plan", "", "keys: the usage plan id, when the stack does not report one")
	fs.StringVar(&c.groups, "groups", "", "keys issue: what the key may act on, for services whose keys carry a grant (ec2power: ci,integration or *)")
	fs.BoolVar(&c.audit, "audit", false, "keys issue: the key may also see who asked, in histories")
	fs.StringVar(&c.root, "root", "", "repository root (default: the directory holding go.work)")
	fs.StringVar(&c.dist, "dist", "", "build output directory (default ROOT/dist)")
	fs.StringVar(&c.out, "out", "", "templates: output directory (default ROOT/infra/cloudformation)")
	fs.BoolVar(&c.force, "force", false, "destroy: allow destroying a production stage")
	fs.BoolVar(&c.allowAnonymous, "allow-anonymous", false, "deploy: allow Auth=NONE (never for production stages)")
	fs.BoolVar(&c.asJSON, "json", false, "print results as JSON")
	fs.BoolVar(&c.check, "check", false, "templates: fail when the committed templates are stale")
	fs.DurationVar(&c.poll, "poll", 2*time.Second, "time between two status reads")
	fs.Var(c.params, "param", "stack parameter KEY=VALUE (repeatable), e.g. Auth=API_KEY")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "deploy: unexpected arguments %v\n", fs.Args())
		return 2
	}
	err := c.dispatch(ctx, name, keyAction)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		_, _ = fmt.Fprintln(stderr, "deploy:", err)
		return 2
	default:
		_, _ = fmt.Fprintln(stderr, "deploy:", err)
		return 1
	}
}

func (c *command) dispatch(ctx context.Context, name, keyAction string) error {
	if c.root == "" {
		root, err := workspace.Root()
		if err != nil {
			return err
		}
		c.root = root
	}
	if c.dist == "" {
		c.dist = filepath.Join(c.root, "dist")
	}
	switch name {
	case "templates":
		return c.templates()
	case "bootstrap":
		tool, err := c.tool(ctx)
		if err != nil {
			return err
		}
		bucket, err := tool.EnsureBootstrap(ctx)
		if err != nil {
			return err
		}
		return c.print(map[string]string{"ArtifactBucketName": bucket})
	}
	if c.service == stacks.NetworkName {
		return c.network(ctx, name)
	}
	svc, err := c.serviceSpec()
	if err != nil {
		return err
	}
	stack := deploy.StackName(svc.Name, c.stage)
	switch name {
	case "build":
		_, _, err := c.build(ctx, svc)
		return err
	case "package":
		_, arts, err := c.build(ctx, svc)
		if err != nil {
			return err
		}
		out := map[string]string{}
		for _, a := range arts {
			out[a.Operation] = fmt.Sprintf("%s (%d bytes)", a.Key, len(a.Zip))
		}
		return c.print(out)
	case "deploy", "diff":
		return c.deploy(ctx, svc, name == "diff")
	case "outputs":
		tool, err := c.tool(ctx)
		if err != nil {
			return err
		}
		st, err := tool.Outputs(ctx, stack, svc.Name)
		if err != nil {
			return err
		}
		return c.print(st.Outputs)
	case "destroy":
		if deploy.IsProduction(c.stage) && !c.force {
			return usagef("%s is a production stage; destroy it with --force", stack)
		}
		tool, err := c.tool(ctx)
		if err != nil {
			return err
		}
		if err := c.revokeStageKeys(ctx, stack); err != nil {
			return err
		}
		if err := tool.Destroy(ctx, stack); err != nil {
			return err
		}
		if err := tool.DeleteCursorKey(ctx, stack); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(c.stderr, "%s: deleted\n", stack)
		return nil
	case "keys":
		return c.keys(ctx, stack, keyAction)
	default:
		return usagef("unknown command %q", name)
	}
}

func (c *command) serviceSpec() (cfn.Service, error) {
	if c.service == "" {
		return cfn.Service{}, usagef("--service is required (%s)", strings.Join(stacks.Names(), ", "))
	}
	svc, err := stacks.Lookup(c.service)
	if err != nil {
		return cfn.Service{}, usagef("%v", err)
	}
	if c.allowAnonymous {
		c.params[cfn.AllowAnonymous] = "true"
	}
	if err := deploy.CheckStage(c.stage, deploy.Params(c.params)); err != nil {
		return cfn.Service{}, usagef("%v", err)
	}
	return svc, nil
}

func (c *command) tool(ctx context.Context) (*deploy.Tool, error) {
	cfg, err := c.loadConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, usagef("no AWS region: set AWS_REGION")
	}
	t := deploy.NewTool(cfg, c.stderr)
	t.Poll, t.Root = c.poll, c.root
	return t, nil
}

func (c *command) build(ctx context.Context, svc cfn.Service) (deploy.Arch, []deploy.Artifact, error) {
	arch, err := deploy.ParseArch(c.arch)
	if err != nil {
		return deploy.Arch{}, nil, usagef("%v", err)
	}
	if _, err := deploy.Build(ctx, c.root, c.dist, svc, arch, c.stderr); err != nil {
		return arch, nil, err
	}
	arts, err := deploy.Package(c.dist, svc)
	return arch, arts, err
}

func (c *command) deploy(ctx context.Context, svc cfn.Service, dryRun bool) error {
	tool, err := c.tool(ctx)
	if err != nil {
		return err
	}
	arch, arts, err := c.build(ctx, svc)
	if err != nil {
		return err
	}
	stack := deploy.StackName(svc.Name, c.stage)
	if dryRun {
		// A diff changes nothing: not even the bootstrap stack.
		bucket, err := tool.BootstrapBucket(ctx)
		if err != nil {
			return err
		}
		params, err := tool.ServiceParams(ctx, svc, c.stage, bucket, arch, arts, deploy.Params(c.params))
		if err != nil {
			return err
		}
		if err := tool.PrivateNetwork(ctx, stack, c.stage, params); err != nil {
			return err
		}
		return c.diff(ctx, tool, stack, svc.Name, params)
	}
	bucket, err := tool.EnsureBootstrap(ctx)
	if err != nil {
		return err
	}
	tool.TemplateBucket = bucket
	if _, err := tool.Upload(ctx, bucket, arts); err != nil {
		return err
	}
	params, err := tool.ServiceParams(ctx, svc, c.stage, bucket, arch, arts, deploy.Params(c.params))
	if err != nil {
		return err
	}
	if err := tool.PrivateNetwork(ctx, stack, c.stage, params); err != nil {
		return err
	}
	if err := tool.EnsureCursorKey(ctx, svc, stack); err != nil {
		return err
	}
	st, _, err := tool.DeployTemplate(ctx, stack, svc.Name, params)
	if err != nil {
		return err
	}
	return c.print(st.Outputs)
}

// diff prints what deploying the template with params would change, and
// changes nothing: the plan is discarded, with the stack it made if any.
func (c *command) diff(ctx context.Context, tool *deploy.Tool, stack, template string, params deploy.Params) error {
	// Templates past CloudFormation's inline limit go by URL, through the
	// bootstrap stack's bucket where it exists.
	if bucket, err := tool.BootstrapBucket(ctx); err != nil {
		return err
	} else if bucket != deploy.NoBootstrapBucket {
		tool.TemplateBucket = bucket
	}
	body, err := tool.Body(ctx, stack, template, params)
	if err != nil {
		return err
	}
	plan, err := tool.PlanChanges(ctx, stack, body, params)
	if err != nil {
		return err
	}
	if plan.Empty() && !plan.Create {
		_, _ = fmt.Fprintf(c.stdout, "%s: no changes\n", stack)
		return nil
	}
	for _, ch := range plan.Changes {
		_, _ = fmt.Fprintln(c.stdout, ch)
	}
	tool.Abandon(ctx, plan)
	return nil
}

// network deploys, plans, shows or destroys the stage's network stack,
// the platform stack private services run in.
func (c *command) network(ctx context.Context, name string) error {
	if err := deploy.CheckStage(c.stage, nil); err != nil {
		return usagef("%v", err)
	}
	stack := deploy.NetworkStackName(c.stage)
	switch name {
	case "deploy", "diff", "outputs", "destroy":
	default:
		return usagef("%s is a platform stack: deploy, diff, outputs or destroy it, not %s", stacks.NetworkName, name)
	}
	if name == "destroy" && deploy.IsProduction(c.stage) && !c.force {
		return usagef("%s serves a production stage; destroy it with --force", stack)
	}
	tool, err := c.tool(ctx)
	if err != nil {
		return err
	}
	switch name {
	case "outputs":
		st, err := tool.Outputs(ctx, stack, stacks.NetworkName)
		if err != nil {
			return err
		}
		return c.print(st.Outputs)
	case "destroy":
		if users, err := tool.NetworkUsers(ctx, c.stage); err != nil {
			return err
		} else if len(users) > 0 {
			return fmt.Errorf("%s still carries the private stages %v: destroy them first", stack, users)
		}
		if err := tool.Destroy(ctx, stack); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(c.stderr, "%s: deleted\n", stack)
		return nil
	}
	params, err := tool.NetworkParams(ctx, c.stage, deploy.Params(c.params))
	if err != nil {
		return err
	}
	if name == "diff" {
		return c.diff(ctx, tool, stack, stacks.NetworkName, params)
	}
	st, _, err := tool.DeployTemplate(ctx, stack, stacks.NetworkName, params)
	if err != nil {
		return err
	}
	return c.print(st.Outputs)
}

func (c *command) keys(ctx context.Context, stack, action string) error {
	switch action {
	case "issue", "revoke":
		if c.consumer == "" {
			return usagef("keys %s needs --consumer", action)
		}
	case "list":
	default:
		return usagef("keys needs issue, list or revoke, not %q", action)
	}
	tool, err := c.tool(ctx)
	if err != nil {
		return err
	}
	st, err := tool.Outputs(ctx, stack, c.service)
	if err != nil {
		return err
	}
	cfg, err := c.loadConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	k := deploy.Keys{API: apigateway.NewFromConfig(cfg)}
	grants, err := stacks.KeyGrantsOf(c.service, cfg, st.Outputs)
	if err != nil {
		return err
	}
	switch {
	case action == "issue" && grants != nil && c.groups == "":
		return usagef("keys issue --service %s needs --groups: what the key may act on (ci,integration, or * for everything)", c.service)
	case (c.groups != "" || c.audit) && grants == nil:
		return usagef("the keys of %s carry no grant: --groups and --audit do not apply", c.service)
	}
	plan := st.Outputs["UsagePlanId"]
	if c.usagePlan != "" {
		plan = c.usagePlan
	}
	switch action {
	case "issue", "revoke":
		if c.consumer == "" {
			return usagef("keys %s needs --consumer", action)
		}
		var key deploy.Key
		if action == "issue" {
			key, err = k.Issue(ctx, stack, plan, c.consumer)
			if err == nil && grants != nil {
				if gerr := grants.Grant(ctx, key.ID, c.consumer, c.groups, c.audit); gerr != nil {
					// A key without its grant would control nothing; take it back.
					_, _ = k.Revoke(ctx, stack, plan, c.consumer)
					return gerr
				}
			}
		} else {
			key, err = k.Revoke(ctx, stack, plan, c.consumer)
			if err == nil && grants != nil {
				err = grants.Revoke(ctx, key.ID)
			}
		}
		if err != nil {
			return err
		}
		out := map[string]string{"id": key.ID, "name": key.Name, "consumer": c.consumer}
		if grants != nil && action == "issue" {
			out["grant"], _ = grants.Show(ctx, key.ID)
		}
		if key.Value != "" {
			out["value"] = key.Value
		} else {
			out["revoked"] = "true"
		}
		return c.print(out)
	case "list":
		keys, err := k.List(ctx, plan)
		if err != nil {
			return err
		}
		if c.asJSON {
			return c.printJSON(keys)
		}
		for _, key := range keys {
			grant := ""
			if grants != nil {
				g, err := grants.Show(ctx, key.ID)
				if err != nil {
					return err
				}
				grant = "  " + g
			}
			_, _ = fmt.Fprintf(c.stdout, "%s  %s  consumer=%s enabled=%t%s\n", key.ID, key.Name, key.Consumer, key.Enabled, grant)
		}
		return nil
	default:
		return usagef("keys needs issue, list or revoke, not %q", action)
	}
}

// revokeStageKeys deletes, saying which, the API keys the tool issued for
// a stage about to be destroyed: they would outlive it, still valid.
func (c *command) revokeStageKeys(ctx context.Context, stack string) error {
	cfg, err := c.loadConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	k := deploy.Keys{API: apigateway.NewFromConfig(cfg)}
	keys, err := k.OfStack(ctx, stack)
	if err != nil {
		return err
	}
	for _, key := range keys {
		_, _ = fmt.Fprintf(c.stderr, "%s: deleting API key %s (%s, consumer %s)\n", stack, key.ID, key.Name, key.Consumer)
		if err := k.Delete(ctx, key.ID); err != nil {
			return err
		}
	}
	return nil
}

func (c *command) templates() error {
	out := c.out
	if out == "" {
		out = filepath.Join(c.root, "infra", "cloudformation")
	}
	if !c.check {
		if err := stacks.WriteAll(out); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(c.stderr, "wrote %d templates to %s\n", len(stacks.TemplateNames()), out)
		return nil
	}
	var stale []string
	for _, name := range stacks.TemplateNames() {
		want, err := stacks.Template(name)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(out, name+".json")) //nolint:gosec // our own directory
		if err != nil || !bytes.Equal(got, want) {
			stale = append(stale, name)
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("templates out of date: %v; run go tool task templates and commit", stale)
	}
	_, _ = fmt.Fprintln(c.stderr, "templates are up to date")
	return nil
}

func (c *command) print(m map[string]string) error {
	if c.asJSON {
		return c.printJSON(m)
	}
	st := deploy.Stack{Outputs: m}
	for _, kv := range deploy.SortedOutputs(st) {
		_, _ = fmt.Fprintf(c.stdout, "%s = %s\n", kv[0], kv[1])
	}
	return nil
}

func (c *command) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return nil
}
