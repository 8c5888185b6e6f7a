package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/spf13/cobra"

	"github.com/hexlambda/hexlambda/infra/deploy"
	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/infra/workspace"
	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/pkg/cli"
)

type paramFlags map[string]string

func (p paramFlags) String() string { return fmt.Sprint(map[string]string(p)) }

func (p paramFlags) Type() string { return "KEY=VALUE" }

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
	force, asJSON, check, yes, setLoggingRole                  bool
	poll                                                       time.Duration
	params                                                     paramFlags
	allowAnonymous, audit                                      bool
	groups                                                     string
	stdout, stderr                                             io.Writer
	loadConfig                                                 func(context.Context) (aws.Config, error)
	// stdin answers the confirmation question when terminal says it is a
	// terminal.
	stdin    io.Reader
	terminal bool
}

// Console is where the tool asks before it changes a stack: a terminal,
// or not (CI), in which case production stages need --yes.
type Console struct {
	In       io.Reader
	Terminal bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, loadConfig func(context.Context) (aws.Config, error), console Console) int {
	c := &command{params: paramFlags{}, stdout: stdout, stderr: stderr, loadConfig: loadConfig, stdin: console.In, terminal: console.Terminal}
	root := c.commands()
	root.SetArgs(cli.CommandFirst(root, args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		_, _ = fmt.Fprintln(stderr, "deploy:", err)
		_, _ = fmt.Fprintf(stderr, "usage: %s\nrun deploy %s --help for help\n", cmd.UseLine(), cmd.Name())
		return 2
	case errors.Is(err, errRuntime):
		_, _ = fmt.Fprintln(stderr, "deploy:", strings.TrimSuffix(err.Error(), ": "+errRuntime.Error()))
		return 1
	default:
		// cobra's own: an unknown command or flag, a missing argument.
		_, _ = fmt.Fprintln(stderr, "deploy:", err)
		_, _ = fmt.Fprintf(stderr, "usage: %s\nrun deploy %s --help for help\n", cmd.UseLine(), cmd.Name())
		return 2
	}
}

// errRuntime marks a failure of the work itself (exit 1), as opposed to a
// usage error (exit 2).
var errRuntime = errors.New("runtime")

// commands builds the command tree: each command with its own flags.
func (c *command) commands() *cobra.Command {
	root := &cobra.Command{
		Use:   "deploy",
		Short: "Build, package and deploy the services' stacks to AWS, LocalStack or moto (AWS_ENDPOINT_URL)",
		Long: "Build, package and deploy the services' stacks, one service stage at a time, to AWS, LocalStack or moto\n" +
			"(AWS_ENDPOINT_URL). A deploy shows its change set and asks before executing it on a terminal (--yes does\n" +
			"not ask); without a terminal it refuses production stages (prod, production) unless --yes is given.\n" +
			"Progress goes to stderr; results (outputs, keys) to stdout.\n\nExit codes: 0 done, 1 failed, 2 usage error.",
		Version:       versionLine(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("a command is required: bootstrap, build, package, deploy, diff, outputs, destroy, keys or templates")
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVar(&c.root, "root", "", "repository root (default: the directory holding go.work)")
	root.PersistentFlags().BoolVar(&c.asJSON, "json", false, "print results as JSON")
	root.PersistentFlags().DurationVar(&c.poll, "poll", 2*time.Second, "time between two status reads")
	service := func(cmd *cobra.Command) {
		cmd.Flags().StringVarP(&c.service, "service", "s", "", "service: "+strings.Join(stacks.Names(), ", "))
	}
	serviceOrNetwork := func(cmd *cobra.Command) {
		cmd.Flags().StringVarP(&c.service, "service", "s", "", "service: "+strings.Join(stacks.Names(), ", ")+", or "+stacks.NetworkName+" (the stage's private network)")
	}
	stage := func(cmd *cobra.Command) {
		cmd.Flags().StringVar(&c.stage, "stage", "dev", "stage (prod and production are production stages)")
	}
	build := func(cmd *cobra.Command) {
		cmd.Flags().StringVar(&c.arch, "arch", "arm64", "function architecture: arm64, amd64 or host")
		cmd.Flags().StringVar(&c.dist, "dist", "", "build output directory (default ROOT/dist)")
	}
	params := func(cmd *cobra.Command) {
		cmd.Flags().Var(c.params, "param", "stack parameter KEY=VALUE (repeatable), e.g. Auth=API_KEY")
		cmd.Flags().BoolVar(&c.allowAnonymous, "allow-anonymous", false, "allow Auth=NONE (never for production stages)")
	}
	yes := func(cmd *cobra.Command) {
		cmd.Flags().BoolVarP(&c.yes, "yes", "y", false, "do not ask for confirmation (needed for production stages without a terminal)")
	}
	loggingRole := func(cmd *cobra.Command) {
		cmd.Flags().BoolVar(&c.setLoggingRole, "set-logging-role", false,
			"where the region has no API Gateway CloudWatch logging role (stages' access logs need one), let the bootstrap stack set its own; a role already set is left alone")
	}
	run := func(name string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error { return c.runE(cmd.Context(), name, "") }
	}
	mk := func(use, short string, flags ...func(*cobra.Command)) *cobra.Command {
		cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: run(strings.Fields(use)[0])}
		for _, f := range flags {
			f(cmd)
		}
		return cmd
	}
	deploy := mk("deploy", "Deploy a service stage (or the stage's network): plan, show, ask, execute", serviceOrNetwork, stage, build, params, yes, loggingRole)
	diff := mk("diff", "Show what a deploy would change, changing nothing", serviceOrNetwork, stage, build, params, loggingRole)
	destroy := mk("destroy", "Delete a service stage (or the stage's network), its API keys and cursor key", serviceOrNetwork, stage, yes)
	destroy.Flags().BoolVar(&c.force, "force", false, "allow destroying a production stage")
	templates := mk("templates", "Write the CloudFormation templates (infra/cloudformation), or check them")
	templates.Flags().StringVar(&c.out, "out", "", "output directory (default ROOT/infra/cloudformation)")
	templates.Flags().BoolVar(&c.check, "check", false, "fail when the committed templates are stale")
	keys := &cobra.Command{Use: "keys", Short: "Issue, list and revoke a stage's API keys", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return usagef("keys needs issue, list or revoke") }}
	for _, action := range []string{"issue", "list", "revoke"} {
		k := &cobra.Command{Use: action, Args: cobra.NoArgs, Short: map[string]string{
			"issue": "Issue a consumer's API key (printed once)", "list": "List the stage's keys", "revoke": "Revoke a consumer's key",
		}[action], RunE: func(cmd *cobra.Command, _ []string) error { return c.runE(cmd.Context(), "keys", action) }}
		service(k)
		stage(k)
		k.Flags().StringVar(&c.usagePlan, "usage-plan", "", "the usage plan id, when the stack does not report one")
		if action != "list" {
			k.Flags().StringVar(&c.consumer, "consumer", "", "the key's consumer, e.g. jenkins")
		}
		if action == "issue" {
			k.Flags().StringVar(&c.groups, "groups", "", "what the key may act on, for services whose keys carry a grant (ec2power: ci,integration or *)")
			k.Flags().BoolVar(&c.audit, "audit", false, "the key may also see who asked, in histories")
		}
		keys.AddCommand(k)
	}
	root.AddCommand(
		mk("bootstrap", "Deploy the shared bootstrap stack (artifact bucket; the region's API Gateway logging role when asked)", loggingRole),
		mk("build", "Build a service's functions (bootstrap binaries in dist/)", service, build),
		mk("package", "Build and zip a service's functions, named by content hash", service, build),
		deploy, diff,
		mk("outputs", "Print a stage's stack outputs (API URL, ...)", serviceOrNetwork, stage),
		destroy, keys, templates,
	)
	return root
}

// runE runs a command; failures of the work itself are marked errRuntime.
func (c *command) runE(ctx context.Context, name, keyAction string) error {
	err := c.dispatch(ctx, name, keyAction)
	var ue usageError
	if err == nil || errors.As(err, &ue) {
		return err
	}
	return fmt.Errorf("%w: %w", err, errRuntime)
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
		if err := c.mayDestroy(stack); err != nil {
			return err
		}
		tool, err := c.tool(ctx)
		if err != nil {
			return err
		}
		k, keys, err := c.stageKeys(ctx, stack)
		if err != nil {
			return err
		}
		if err := c.askFirst(fmt.Sprintf("Destroy %s, its %d API key(s) and its cursor key?", stack, len(keys))); err != nil {
			return err
		}
		if err := c.deleteKeys(ctx, k, stack, keys); err != nil {
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

// errNotConfirmed is a change the person at the terminal declined.
var errNotConfirmed = errors.New("not confirmed; nothing was changed")

// confirm asks the person at the terminal before a planned change is
// executed; without a terminal (or with --yes) it does not ask: production
// stages were refused up front unless --yes was given (mayChange).
func (c *command) confirm(stack string, plan deploy.Plan) error {
	verb := "Update"
	if plan.Create {
		verb = "Create"
	}
	return c.askFirst(fmt.Sprintf("%s %s with the %d change(s) above?", verb, stack, len(plan.Changes)))
}

// askFirst puts a yes/no question on the terminal, unless there is none or
// --yes answered it; only yes goes ahead.
func (c *command) askFirst(question string) error {
	if c.yes || !c.terminal {
		return nil
	}
	_, _ = fmt.Fprintf(c.stderr, "%s [y/N] ", question)
	answer, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && answer == "" {
		return errNotConfirmed
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	default:
		return errNotConfirmed
	}
}

// mayDestroy refuses to destroy a production stage without --force, or
// with nobody to confirm.
func (c *command) mayDestroy(stack string) error {
	if deploy.IsProduction(c.stage) && !c.force {
		return usagef("%s is a production stage; destroy it with --force", stack)
	}
	return c.mayChange(stack)
}

// mayChange refuses to change a production stage with nobody to confirm:
// no terminal and no --yes.
func (c *command) mayChange(stack string) error {
	if deploy.IsProduction(c.stage) && !c.yes && !c.terminal {
		return usagef("%s is a production stage and there is no terminal to confirm on: pass --yes to go ahead", stack)
	}
	return nil
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
	t.Poll, t.Root, t.SetLoggingRole = c.poll, c.root, c.setLoggingRole
	t.Confirm = c.confirm
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
	if !dryRun {
		if err := c.mayChange(deploy.StackName(svc.Name, c.stage)); err != nil {
			return err
		}
	}
	tool, err := c.tool(ctx)
	if err != nil {
		return err
	}
	// A stage's access logs need the region's logging role: found missing
	// before anything is built or made (a diff only says so).
	if err := tool.LoggingRoleReady(ctx); err != nil {
		if !dryRun {
			return err
		}
		_, _ = fmt.Fprintf(c.stderr, "note: a deploy would be refused: %v\n", err)
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
	switch name {
	case "destroy":
		if err := c.mayDestroy(stack); err != nil {
			return err
		}
	case "deploy":
		if err := c.mayChange(stack); err != nil {
			return err
		}
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
		if err := c.askFirst(fmt.Sprintf("Destroy %s?", stack)); err != nil {
			return err
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

// stageKeys lists, naming each, the API keys the tool issued for a stage
// about to be destroyed: they would outlive it, still valid.
func (c *command) stageKeys(ctx context.Context, stack string) (deploy.Keys, []deploy.Key, error) {
	cfg, err := c.loadConfig(ctx)
	if err != nil {
		return deploy.Keys{}, nil, fmt.Errorf("AWS configuration: %w", err)
	}
	k := deploy.Keys{API: apigateway.NewFromConfig(cfg)}
	keys, err := k.OfStack(ctx, stack)
	if err != nil {
		return k, nil, err
	}
	if len(keys) > 0 {
		_, _ = fmt.Fprintf(c.stderr, "%s: destroying it deletes the %d API key(s) issued for it:\n", stack, len(keys))
	}
	for _, key := range keys {
		_, _ = fmt.Fprintf(c.stderr, "  %s (%s, consumer %s)\n", key.ID, key.Name, key.Consumer)
	}
	return k, keys, nil
}

// deleteKeys deletes the stage's keys, saying so for each.
func (c *command) deleteKeys(ctx context.Context, k deploy.Keys, stack string, keys []deploy.Key) error {
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
