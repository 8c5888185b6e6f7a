"""API Gateway under CloudFormation, and updates of parameters alone, as
AWS documents them, for moto.

moto's CloudFormation creates AWS::ApiGateway::Method resources but never
updates or deletes them, ignores AWS::ApiGateway::Stage, notices a resource
changed only when its own text or a parameter it Refs changed, and plans
nothing for a change set that changes parameters alone. A stack update that
switches a method's auth through a condition, drops a route or changes a
stage's throttle therefore leaves moto's API as it was. This module adds
what is missing, on moto's own backends, before the server starts:

- a method is updated (replaced in place) and deleted with its stack;
- a resource is deleted with its stack, after its methods and children,
  and so is the API itself;
- AWS::ApiGateway::Stage is created, updated (deployment, variables,
  tracing, access logs, method settings) and deleted;
- the Ref of a deployment is its id, and a deployment made for an existing
  stage points that stage at it, keeping the stage's settings;
- a resource that reads a parameter whose value changed is updated, and
  an update's change set lists it (moto only diffs the template's text):
  through a Ref, or, for a method or stage, through its conditions
  (Fn::If, Condition), as CloudFormation re-evaluates them;
- a resource type moto cannot update keeps its current resource instead of
  losing it (moto would put None where later Refs read it);
- a resource whose own condition changes value with the update's
  parameters is made or removed, and a resource to be retained
  (DeletionPolicy Retain or RetainExceptOnCreate) is kept when an update
  or the stack's deletion removes it;
- AWS::ApiGateway::Account sets the region's CloudWatch role, which stays
  when the resource or its stack goes, and a stage with access logs cannot
  be created while the region has none: the create fails on that stage and
  rolls back (ROLLBACK_COMPLETE, the stage's CREATE_FAILED event giving
  API Gateway's reason), as a first deploy to a new region does on AWS.

It is imported by the launcher in awstest.go; nothing else uses it.
"""

import functools

from moto.apigateway import models as apigw
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

# The types whose updates this module implements, so a condition change
# may mark them modified.
UPDATED_ON_CONDITION = {"AWS::ApiGateway::Method", "AWS::ApiGateway::Stage"}


def _backend(account_id, region_name):
    return apigw.apigateway_backends[account_id][region_name]


def _rest_api(account_id, region_name, api_id):
    return _backend(account_id, region_name).apis.get(api_id)


# A deployment's Ref is its id.
apigw.Deployment.physical_resource_id = property(lambda self: self.id)


def _deployment_id(value):
    return value if isinstance(value, str) else getattr(value, "id", value)


_create_method = apigw.Method.create_from_cloudformation_json.__func__


def _method_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    method = _create_method(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    props = cloudformation_json["Properties"]
    method.cfn_location = (account_id, region_name, props["RestApiId"], props["ResourceId"], props["HttpMethod"])
    return method


def _method_delete(self, account_id, region_name):
    location = getattr(self, "cfn_location", None)
    if location is None:
        return
    account_id, region_name, api_id, resource_id, verb = location
    api = _rest_api(account_id, region_name, api_id)
    resource = api.resources.get(resource_id) if api else None
    if resource is not None:
        resource.resource_methods.pop(verb, None)


def _method_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    if original_resource is not None:
        _method_delete(original_resource, account_id, region_name)
    return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


apigw.Method.create_from_cloudformation_json = classmethod(_method_create)
apigw.Method.update_from_cloudformation_json = classmethod(_method_update)
apigw.Method.delete = _method_delete


class DependentsLeft(Exception):
    """A resource still has methods or children: CloudFormation deletes
    those first (moto's update and delete loops retry)."""


def _resource_delete(self, account_id, region_name):
    api = _rest_api(self.account_id, self.region_name, self.api_id)
    if api is None or self.id not in api.resources:
        return
    children = [r.id for r in api.resources.values() if r.parent_id == self.id]
    if children or self.resource_methods:
        raise DependentsLeft(f"resource {self.id} still has methods {sorted(self.resource_methods)} or children {children}")
    del api.resources[self.id]


apigw.Resource.delete = _resource_delete


def _rest_api_delete(self, account_id, region_name):
    _backend(self.account_id, self.region_name).apis.pop(self.id, None)


apigw.RestAPI.delete = _rest_api_delete


_create_deployment = apigw.RestAPI.create_deployment


def _api_create_deployment(self, name, description, stage_variables=None):
    existing = self.stages.get(name) if name else None
    deployment = _create_deployment(self, name, description, stage_variables)
    if existing is not None:
        existing.deployment_id = deployment.id
        if stage_variables:
            existing.variables.update(stage_variables)
        self.stages[name] = existing
    return deployment


apigw.RestAPI.create_deployment = _api_create_deployment


def _setting_key(path, verb):
    # API Gateway keys method settings by the path without its leading
    # slash, each further slash written ~1, then the method: "*/*".
    return path.lstrip("/").replace("/", "~1") + "/" + verb


_SETTINGS = {
    "MetricsEnabled": ("metricsEnabled", bool),
    "LoggingLevel": ("loggingLevel", str),
    "DataTraceEnabled": ("dataTraceEnabled", bool),
    "ThrottlingRateLimit": ("throttlingRateLimit", float),
    "ThrottlingBurstLimit": ("throttlingBurstLimit", int),
    "CachingEnabled": ("cachingEnabled", bool),
    "CacheTtlInSeconds": ("cacheTtlInSeconds", int),
    "CacheDataEncrypted": ("cacheDataEncrypted", bool),
}


def _value(kind, v):
    if kind is bool and isinstance(v, str):
        return v.lower() == "true"
    return kind(v)


class ResourceFailed(Exception):
    """A resource CloudFormation could not create: the stack's create fails
    on it and rolls back."""

    def __init__(self, logical_id, resource_type, reason):
        super().__init__(reason)
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason


class AccountResource(CloudFormationModel):
    """AWS::ApiGateway::Account: the region's API Gateway settings."""

    __module__ = "moto.apigateway.account_resource"

    def __init__(self, account_id, region_name):
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self):
        return "account-" + self.region_name

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGateway::Account"

    def _apply(self, props):
        role = props.get("CloudWatchRoleArn")
        if role:
            _backend(self.account_id, self.region_name).account.cloudwatch_role_arn = role

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        account = cls(account_id, region_name)
        account._apply(cloudformation_json.get("Properties") or {})
        return account

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        original_resource._apply(cloudformation_json.get("Properties") or {})
        return original_resource

    def delete(self, account_id, region_name):
        # The setting outlives the resource: API Gateway has no way to
        # unset it, and CloudFormation leaves it.
        pass


class StageResource(CloudFormationModel):
    """AWS::ApiGateway::Stage over moto's own stages."""

    # moto files its models by the service named in their module.
    __module__ = "moto.apigateway.stage_resource"

    def __init__(self, account_id, region_name, api_id, name):
        self.account_id = account_id
        self.region_name = region_name
        self.api_id = api_id
        self.name = name

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_name_type():
        return "StageName"

    @staticmethod
    def cloudformation_type():
        return "AWS::ApiGateway::Stage"

    def _apply(self, props):
        api = _rest_api(self.account_id, self.region_name, self.api_id)
        stage = api.stages[self.name]
        stage.deployment_id = _deployment_id(props["DeploymentId"])
        stage.description = props.get("Description", "")
        stage.variables = dict(props.get("Variables") or {})
        stage.tracing_enabled = _value(bool, props.get("TracingEnabled", False))
        access = props.get("AccessLogSetting")
        stage.access_log_settings = (
            {"destinationArn": access.get("DestinationArn"), "format": access.get("Format")} if access else None
        )
        settings = {}
        for s in props.get("MethodSettings") or []:
            entry = stage._get_default_method_settings()
            for prop, (key, kind) in _SETTINGS.items():
                if prop in s:
                    entry[key] = _value(kind, s[prop])
            settings[_setting_key(s.get("ResourcePath", "/*"), s.get("HttpMethod", "*"))] = entry
        stage.method_settings = settings

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        api_id = props["RestApiId"]
        name = props.get("StageName", resource_name)
        if props.get("AccessLogSetting") and not _backend(account_id, region_name).account.cloudwatch_role_arn:
            raise ResourceFailed(
                kwargs.get("LogicalId", resource_name), "AWS::ApiGateway::Stage",
                "CloudWatch Logs role ARN must be set in account settings to enable logging "
                "(Service: ApiGateway, Status Code: 400, Request ID: moto)",
            )
        _backend(account_id, region_name).create_stage(
            function_id=api_id, stage_name=name, deploymentId=_deployment_id(props["DeploymentId"])
        )
        stage = cls(account_id, region_name, api_id, name)
        stage._apply(props)
        return stage

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json["Properties"]
        name = props.get("StageName", new_resource_name)
        if original_resource.api_id != props["RestApiId"] or original_resource.name != name:
            # Replacement: the new stage first, then the old one goes.
            stage = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
            original_resource.delete(account_id, region_name)
            return stage
        original_resource._apply(props)
        return original_resource

    def delete(self, account_id, region_name):
        api = _rest_api(self.account_id, self.region_name, self.api_id)
        if api is not None:
            api.stages.pop(self.name, None)


def _conditions_of(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::If" and isinstance(value, list) and value:
                found.add(value[0])
            elif key == "Condition" and isinstance(value, str):
                found.add(value)
            _conditions_of(value, found)
    elif isinstance(node, list):
        for item in node:
            _conditions_of(item, found)
    return found


def _parameters_of_conditions(names, conditions):
    params, seen, todo = set(), set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in conditions:
            continue
        seen.add(name)
        params.update(p for p in parsing.get_references_from_template(conditions[name]) if isinstance(p, str))
        todo.extend(_conditions_of(conditions[name], set()))
    return params


_build_resource_diff = parsing.ResourceMap.build_resource_diff


def _normal(value):
    # A parameter as given (a string) or as moto resolved it (a number, a
    # list), compared as CloudFormation compares them.
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _diff(self, other_template, parameters=None):
    actions = _build_resource_diff(self, other_template)
    if not parameters:
        return actions
    changed = {
        p for p, v in parameters.items()
        if _normal(self.input_parameters.get(p, self.resolved_parameters.get(p))) != _normal(v)
    }
    if not changed:
        return actions
    conditions = other_template.get("Conditions") or {}
    after = None
    for name, resource in other_template["Resources"].items():
        # A resource whose own condition now has another value is made
        # or removed, as CloudFormation re-evaluates it.
        condition = resource.get("Condition")
        if condition and name in self._resource_json_map and _parameters_of_conditions({condition}, conditions) & changed:
            if after is None:
                after = _conditions_after(self, other_template, parameters)
            made = self._parsed_resources.get(name)
            exists = made is not None and not callable(made)
            if after[condition] != exists:
                for action in ("Add", "Modify", "Remove"):
                    if name in actions[action]:
                        actions[action].remove(name)
                actions["Add" if after[condition] else "Remove"].append(name)
                continue
        if name in actions["Add"] or name in actions["Modify"] or name not in self._resource_json_map:
            continue
        reads = {r for r in parsing.get_references_from_template(resource) if isinstance(r, str)}
        if resource.get("Type") in UPDATED_ON_CONDITION:
            reads |= _parameters_of_conditions(_conditions_of(resource, set()), conditions)
        if reads & changed:
            actions["Modify"].append(name)
    return actions


parsing.ResourceMap.build_resource_diff = _diff


def _conditions_after(self, template, parameters):
    # The template's conditions over the update's parameter values.
    resolved = dict(self._parsed_resources)
    resolved.update(parameters)
    after = parsing.LazyDict()
    for name, condition in (template.get("Conditions") or {}).items():
        after[name] = functools.partial(parsing.parse_condition, condition, resolved, after)
    return after


_update_map = parsing.ResourceMap.update


def _update_and_forget_removed(self, template, parameters=None):
    # A resource removed while it stays in the template (its condition
    # turned false) is no longer the stack's: a later Ref must not find it.
    removed = [
        name for name in self.build_resource_diff(template, parameters)["Remove"]
        if name in template["Resources"]
    ]
    _update_map(self, template, parameters)
    for name in removed:
        self._parsed_resources.pop(name, None)


parsing.ResourceMap.update = _update_and_forget_removed

_delete_made = parsing.ResourceMap._delete_resource


def _delete_unless_retained(self, parsed_resource, resource_json):
    # CloudFormation keeps a resource it is told to retain when its stack,
    # or an update, removes it (RetainExceptOnCreate too, once created);
    # moto only honours Retain, and only when the stack is deleted.
    if resource_json.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
        return
    _delete_made(self, parsed_resource, resource_json)


parsing.ResourceMap._delete_resource = _delete_unless_retained


def _change_set_diff(self):
    # An update's change set shows what its parameters change too, so a
    # deploy that only changes parameters is planned and executed.
    if self.change_set_type != "UPDATE":
        return _change_set_changes(self)
    resource_map = self.stack.resource_map
    changes = []
    for action, names in resource_map.build_resource_diff(self.template_dict, self.parameters).items():
        for name in names:
            resource = self.template_dict["Resources"].get(name) or resource_map._resource_json_map[name]
            changes.append(cfn_models.Change(action=action, logical_resource_id=name, resource_type=resource["Type"]))
    return changes


_change_set_changes = cfn_models.ChangeSet.diff
cfn_models.ChangeSet.diff = _change_set_diff


_update_resource = parsing.parse_and_update_resource


def _update_or_keep(logical_id, resource_json, resources_map, account_id, region_name):
    updated = _update_resource(logical_id, resource_json, resources_map, account_id, region_name)
    if updated is None:
        return resources_map._parsed_resources.get(logical_id)
    return updated


parsing.parse_and_update_resource = _update_or_keep

_execute_change_set = cfn_models.CloudFormationBackend.execute_change_set


def _execute_or_roll_back(self, change_set_name, stack_name=None):
    # A create that fails on a resource rolls back as CloudFormation's
    # does: the failure is an event of that resource, what was made is
    # deleted, and the stack is left ROLLBACK_COMPLETE (moto would answer
    # the execute call with an error and leave the stack half made).
    try:
        return _execute_change_set(self, change_set_name, stack_name)
    except ResourceFailed as failure:
        change_set = self.change_sets.get(change_set_name) or next(
            cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
        )
        if change_set.change_set_type != "CREATE":
            raise
        stack = self.stacks[change_set.stack_id]
        stack.events.append(cfn_models.Event(
            stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=failure.logical_id,
            physical_resource_id="", resource_type=failure.resource_type, resource_status="CREATE_FAILED",
            resource_status_reason=failure.reason, resource_properties=None,
        ))
        stack._add_stack_event(
            "ROLLBACK_IN_PROGRESS",
            resource_status_reason=f"The following resource(s) failed to create: [{failure.logical_id}]. Rollback requested by user.",
        )
        resources = stack.resource_map
        made = {
            logical_id: resource for logical_id, resource in resources._parsed_resources.items()
            if logical_id in resources._resource_json_map and resource is not None
            and not callable(resource) and not isinstance(resource, str)
            and resources._resource_json_map[logical_id].get("DeletionPolicy") != "Retain"
        }
        # Dependents first: what cannot go yet is tried again next pass.
        while made:
            gone = []
            for logical_id, resource in made.items():
                try:
                    # RetainExceptOnCreate resources go too: a failed create keeps none.
                    _delete_made(resources, resource, resources._resource_json_map[logical_id])
                except Exception:  # noqa: BLE001 - retried after its dependents
                    continue
                gone.append(logical_id)
            if not gone:
                break  # what is left stays, as a failed rollback's would
            for logical_id in gone:
                del made[logical_id]
        # Nothing of the stack is left to delete, describe or output.
        made = set(resources._resource_json_map)
        resources._resource_json_map = {}
        resources._parsed_resources = {k: v for k, v in resources._parsed_resources.items() if k not in made}
        stack.output_map = parsing.OutputMap(resources, {"Outputs": {}}, stack.stack_id)
        stack._add_stack_event("ROLLBACK_COMPLETE")
        stack.status = "ROLLBACK_COMPLETE"
        change_set.execution_status = "EXECUTE_FAILED"
        stack.template = change_set.template
        return None


cfn_models.CloudFormationBackend.execute_change_set = _execute_or_roll_back

# moto caches its model list on first use: the Stage model must be known.
parsing.get_model_list.cache_clear()
parsing.get_model_map.cache_clear()
parsing.get_name_type_map.cache_clear()
