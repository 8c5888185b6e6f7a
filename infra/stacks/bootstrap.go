package stacks

import "github.com/hexlambda/hexlambda/pkg/cfn"

// SetLoggingRole is the bootstrap parameter that makes it set the region's
// API Gateway CloudWatch role: the deploy tool sets it only where no role is
// set yet (or where this stack set it), so a role someone else configured,
// which every API of the region logs with, is never replaced.
const SetLoggingRole = "SetApiGatewayLoggingRole"

// Bootstrap is the shared stack every service deploys into: the artifact
// bucket (versioned, encrypted, private, TLS only) and, where the region
// has none, API Gateway's account-wide role for writing access logs.
func Bootstrap() cfn.Template {
	setsRole := "SetsLoggingRole"
	t := cfn.Template{
		AWSTemplateFormatVersion: "2010-09-09",
		Description:              "hexlambda bootstrap: artifact bucket and, where the region has none, API Gateway's logging role",
		Parameters: map[string]cfn.Parameter{
			"Owner": {
				Type: "String", Default: "unassigned", AllowedPattern: `^[A-Za-z0-9 _.:/=+@-]{1,128}$`,
				Description: "Team or person owning the platform: the owner tag of every resource, for cost allocation",
			},
			SetLoggingRole: {
				Type: "String", Default: "false", AllowedValues: []string{"false", "true"},
				Description: "Set the region's API Gateway CloudWatch role (the deploy tool decides: only where none is set)",
			},
		},
		Conditions: map[string]any{setsRole: cfn.Equals(cfn.Ref(SetLoggingRole), "true")},
		Resources: map[string]cfn.Resource{
			"ArtifactBucket": {
				Type: "AWS::S3::Bucket",
				// Kept once it holds code, but not when its own stack's
				// first create fails and rolls back: no bucket leaks.
				DeletionPolicy:      "RetainExceptOnCreate",
				UpdateReplacePolicy: "Retain",
				Properties: map[string]any{
					"VersioningConfiguration": map[string]any{"Status": "Enabled"},
					"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
						map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": true},
					}},
					"PublicAccessBlockConfiguration": map[string]any{
						"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
					},
					"OwnershipControls": map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
					"LifecycleConfiguration": map[string]any{"Rules": []any{map[string]any{
						"Id": "ExpireOldVersions", "Status": "Enabled",
						"NoncurrentVersionExpiration":    map[string]any{"NoncurrentDays": 30},
						"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1},
					}}},
				},
			},
			"ArtifactBucketPolicy": {
				Type: "AWS::S3::BucketPolicy",
				Properties: map[string]any{
					"Bucket": cfn.Ref("ArtifactBucket"),
					"PolicyDocument": map[string]any{
						"Version": "2012-10-17",
						"Statement": []any{map[string]any{
							"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
							"Resource":  []any{cfn.GetAtt("ArtifactBucket", "Arn"), cfn.Sub("${ArtifactBucket.Arn}/*")},
							"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
						}},
					},
				},
			},
			"ApiGatewayLogsRole": {
				Type:      "AWS::IAM::Role",
				Condition: setsRole,
				// Once the region's APIs log with it, it outlives this
				// stack: deleting the stack, or handing the setting back,
				// must not leave every API of the region logging with a
				// role that no longer exists.
				DeletionPolicy:      "RetainExceptOnCreate",
				UpdateReplacePolicy: "Retain",
				Properties: map[string]any{
					"Description": "Lets API Gateway write access and execution logs",
					"AssumeRolePolicyDocument": map[string]any{
						"Version": "2012-10-17",
						"Statement": []any{map[string]any{
							"Effect": "Allow", "Principal": map[string]any{"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole",
						}},
					},
					"Policies": []any{map[string]any{
						"PolicyName": "write-logs",
						"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
							"Effect": "Allow",
							"Action": []string{
								"logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
								"logs:GetLogEvents", "logs:FilterLogEvents", "logs:PutLogEvents",
							},
							"Resource": cfn.Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
						}}},
					}},
				},
			},
			// In an account that never had an API Gateway resource, the
			// account settings can only be written after one exists.
			"ApiGatewayAccountAnchor": {
				Type:      "AWS::ApiGateway::ApiKey",
				Condition: setsRole,
				Properties: map[string]any{
					"Description": "Never used: makes API Gateway exist in the account before its settings are written",
					"Enabled":     false,
				},
			},
			"ApiGatewayAccount": {
				Type:       "AWS::ApiGateway::Account",
				Condition:  setsRole,
				DependsOn:  []string{"ApiGatewayAccountAnchor"},
				Properties: map[string]any{"CloudWatchRoleArn": cfn.GetAtt("ApiGatewayLogsRole", "Arn")},
			},
		},
		Outputs: map[string]cfn.Output{
			"ArtifactBucketName": {Description: "Bucket of the function code", Value: cfn.Ref("ArtifactBucket")},
			"LoggingRoleArn": {
				Description: "The API Gateway logging role this stack set", Condition: setsRole,
				// The role's ARN from its name (it has no path), which the
				// deploy tool resolves itself where the emulator reports no
				// outputs.
				Value: cfn.Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ApiGatewayLogsRole}"),
			},
		},
	}
	cfn.Tag(&t, "platform", "shared", cfn.Ref("Owner"))
	cfn.ExportOutputs(&t)
	return t
}
