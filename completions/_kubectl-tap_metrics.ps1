
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kubectl-tap_metrics' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kubectl-tap_metrics'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kubectl-tap_metrics' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read objects from a file instead of the cluster: `kubectl get -o json|yaml` output, one object or a YAML stream; `-` is standard input. Repeatable')
            [CompletionResult]::new('--from-file', '--from-file', [CompletionResultType]::ParameterName, 'Read objects from a file instead of the cluster: `kubectl get -o json|yaml` output, one object or a YAML stream; `-` is standard input. Repeatable')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'A KSM custom-resource-state config: a CustomResourceStateMetrics document or Helm values holding one (`-` for standard input). Default: the embedded TAP config')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'A KSM custom-resource-state config: a CustomResourceStateMetrics document or Helm values holding one (`-` for standard input). Default: the embedded TAP config')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format. Default: summary on a terminal, openmetrics otherwise')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. Default: summary on a terminal, openmetrics otherwise')
            [CompletionResult]::new('--output-file', '--output-file', [CompletionResultType]::ParameterName, 'Write the output to this file instead of stdout, replacing it atomically (for node_exporter''s textfile collector: name it *.prom). Default format: prometheus. A run that fails or is partial leaves the file as it was')
            [CompletionResult]::new('--resource', '--resource', [CompletionResultType]::ParameterName, 'Only these resources: kind, plural or plural.group (e.g. workloads.carto.run); globs allowed. Repeatable')
            [CompletionResult]::new('--metric', '--metric', [CompletionResultType]::ParameterName, 'Only these metrics, by full name; globs allowed (e.g. ''kpack_*''). Repeatable')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file to use (that file only; default: $KUBECONFIG, then ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use; repeat to read several clusters in one run')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The kubeconfig cluster to use')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The kubeconfig user to use')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The address and port of the Kubernetes API server')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The address and port of the Kubernetes API server')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for authentication to the API server')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'Username to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate for the operation; repeatable')
            [CompletionResult]::new('--certificate-authority', '--certificate-authority', [CompletionResultType]::ParameterName, 'Path to a cert file for the certificate authority')
            [CompletionResult]::new('--client-certificate', '--client-certificate', [CompletionResultType]::ParameterName, 'Path to a client certificate file for TLS')
            [CompletionResult]::new('--client-key', '--client-key', [CompletionResultType]::ParameterName, 'Path to a client key file for TLS')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'Server name to use for server certificate validation')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for one server request (e.g. 30s, 1m, 1m30s; a bare number is seconds; 0 = no limit)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Read one namespace only. Without it every namespace is read: a snapshot is cluster-wide. Cluster-scoped kinds are always read cluster-wide')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Read one namespace only. Without it every namespace is read: a snapshot is cluster-wide. Cluster-scoped kinds are always read cluster-wide')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Label selector applied by the API server (e.g. app=web,tier!=db)')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Label selector applied by the API server (e.g. app=web,tier!=db)')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Objects per list request (pagination, as kubectl''s --chunk-size); 0 lists without pages')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'How many resource types are listed at once, per cluster')
            [CompletionResult]::new('--cluster-label', '--cluster-label', [CompletionResultType]::ParameterName, 'Name of the label that tells clusters apart when several contexts are read (its value is the context name); an empty name leaves it out')
            [CompletionResult]::new('--pushgateway', '--pushgateway', [CompletionResultType]::ParameterName, 'Push the snapshot to this Pushgateway (e.g. http://pushgateway:9091) instead of printing it')
            [CompletionResult]::new('--job', '--job', [CompletionResultType]::ParameterName, 'The job name of the pushed group (and the job label of remote-written series)')
            [CompletionResult]::new('--grouping-key', '--grouping-key', [CompletionResultType]::ParameterName, 'A grouping key label of the pushed group; repeatable. With several contexts, each cluster is its own group, keyed by --cluster-label too')
            [CompletionResult]::new('--push-mode', '--push-mode', [CompletionResultType]::ParameterName, 'put replaces the whole group; add (POST) replaces only the pushed families')
            [CompletionResult]::new('--pushgateway-user', '--pushgateway-user', [CompletionResultType]::ParameterName, 'Basic-auth user for the Pushgateway; the password comes from --pushgateway-password-file or $TAP_METRICS_PUSHGATEWAY_PASSWORD')
            [CompletionResult]::new('--pushgateway-password-file', '--pushgateway-password-file', [CompletionResultType]::ParameterName, 'File holding the basic-auth password (a trailing newline is ignored)')
            [CompletionResult]::new('--pushgateway-bearer-token-file', '--pushgateway-bearer-token-file', [CompletionResultType]::ParameterName, 'File holding a bearer token for the Pushgateway (a trailing newline is ignored)')
            [CompletionResult]::new('--pushgateway-certificate-authority', '--pushgateway-certificate-authority', [CompletionResultType]::ParameterName, 'PEM file of the CA(s) that signed the Pushgateway''s certificate (replaces the built-in public roots)')
            [CompletionResult]::new('--pushgateway-client-certificate', '--pushgateway-client-certificate', [CompletionResultType]::ParameterName, 'PEM client certificate for TLS client authentication')
            [CompletionResult]::new('--pushgateway-client-key', '--pushgateway-client-key', [CompletionResultType]::ParameterName, 'PEM private key of --pushgateway-client-certificate')
            [CompletionResult]::new('--pushgateway-timeout', '--pushgateway-timeout', [CompletionResultType]::ParameterName, 'How long one request to the Pushgateway may take (e.g. 10s, 1m). Connection errors, timeouts and 5xx answers are retried, 3 attempts in all')
            [CompletionResult]::new('--remote-write', '--remote-write', [CompletionResultType]::ParameterName, 'Send the snapshot with Prometheus remote write 1.0 to this receiver (Mimir, Thanos Receive, Cortex, VictoriaMetrics, Grafana Cloud, or Prometheus with --web.enable-remote-write-receiver: http://prometheus:9090/api/v1/write)')
            [CompletionResult]::new('--remote-write-header', '--remote-write-header', [CompletionResultType]::ParameterName, 'A header sent with every request, e.g. X-Scope-OrgID=tenant-a for Mimir and Cortex; repeatable')
            [CompletionResult]::new('--remote-write-user', '--remote-write-user', [CompletionResultType]::ParameterName, 'Basic-auth user; the password comes from --remote-write-password-file or $TAP_METRICS_REMOTE_WRITE_PASSWORD')
            [CompletionResult]::new('--remote-write-password-file', '--remote-write-password-file', [CompletionResultType]::ParameterName, 'File holding the basic-auth password (a trailing newline is ignored)')
            [CompletionResult]::new('--remote-write-bearer-token-file', '--remote-write-bearer-token-file', [CompletionResultType]::ParameterName, 'File holding a bearer token (a trailing newline is ignored)')
            [CompletionResult]::new('--remote-write-certificate-authority', '--remote-write-certificate-authority', [CompletionResultType]::ParameterName, 'PEM file of the CA(s) that signed the receiver''s certificate (replaces the built-in public roots)')
            [CompletionResult]::new('--remote-write-client-certificate', '--remote-write-client-certificate', [CompletionResultType]::ParameterName, 'PEM client certificate for TLS client authentication')
            [CompletionResult]::new('--remote-write-client-key', '--remote-write-client-key', [CompletionResultType]::ParameterName, 'PEM private key of --remote-write-client-certificate')
            [CompletionResult]::new('--remote-write-timeout', '--remote-write-timeout', [CompletionResultType]::ParameterName, 'How long one request may take (e.g. 10s, 1m). Connection errors, 5xx and 429 answers are retried, 5 attempts in all, honouring Retry-After')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Fail on config keys that kube-state-metrics would ignore, instead of warning')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'With -o table: every condition, full messages and one table per metric')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show each problem, not only counts (-v); repeat for more (a metric''s errorLogV sets the level its errors need)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show each problem, not only counts (-v); repeat for more (a metric''s errorLogV sets the level its errors need)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--all-contexts', '--all-contexts', [CompletionResultType]::ParameterName, 'Read every context of the kubeconfig')
            [CompletionResult]::new('--insecure-skip-tls-verify', '--insecure-skip-tls-verify', [CompletionResultType]::ParameterName, 'Do not check the server''s certificate (insecure)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Read every namespace (the default; accepted for kubectl habit)')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Read every namespace (the default; accepted for kubectl habit)')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Delete the group from the Pushgateway instead of pushing')
            [CompletionResult]::new('--push-partial', '--push-partial', [CompletionResultType]::ParameterName, 'Also push (and remote-write) clusters of which some resources could not be read (a PUT then drops their series), and write --output-file; without it only clusters read in full are sent, and the file is left as it was')
            [CompletionResult]::new('--pushgateway-insecure-skip-tls-verify', '--pushgateway-insecure-skip-tls-verify', [CompletionResultType]::ParameterName, 'Do not check the Pushgateway''s certificate (insecure)')
            [CompletionResult]::new('--remote-write-insecure-skip-tls-verify', '--remote-write-insecure-skip-tls-verify', [CompletionResultType]::ParameterName, 'Do not check the receiver''s certificate (insecure)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print or check KSM configs')
            [CompletionResult]::new('monitoring', 'monitoring', [CompletionResultType]::ParameterValue, 'Grafana dashboards and Prometheus alerts for these metrics')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-tap_metrics;config' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('default', 'default', [CompletionResultType]::ParameterValue, 'Print the embedded TAP config, a starting point for your own')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check a config file (`-` for standard input) and report what it defines')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-tap_metrics;config;default' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-tap_metrics;config;validate' {
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Treat unknown keys as errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-tap_metrics;config;help' {
            [CompletionResult]::new('default', 'default', [CompletionResultType]::ParameterValue, 'Print the embedded TAP config, a starting point for your own')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check a config file (`-` for standard input) and report what it defines')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-tap_metrics;config;help;default' {
            break
        }
        'kubectl-tap_metrics;config;help;validate' {
            break
        }
        'kubectl-tap_metrics;config;help;help' {
            break
        }
        'kubectl-tap_metrics;monitoring' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'Print the Prometheus recording rules and alerts')
            [CompletionResult]::new('dashboards', 'dashboards', [CompletionResultType]::ParameterValue, 'Write the Grafana dashboards into a directory, one file each')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-tap_metrics;monitoring;rules' {
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'A label of the PrometheusRule, e.g. release=kube-prometheus-stack. Repeatable')
            [CompletionResult]::new('--prometheus-rule', '--prometheus-rule', [CompletionResultType]::ParameterName, 'Print them as a PrometheusRule (monitoring.coreos.com/v1) for the Prometheus Operator')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-tap_metrics;monitoring;dashboards' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'The directory (created if missing); files of the same name are replaced')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The ConfigMaps'' namespace (Grafana''s, for the sidecar''s default search)')
            [CompletionResult]::new('--configmap', '--configmap', [CompletionResultType]::ParameterName, 'Write ConfigMaps labelled grafana_dashboard: "1" instead of JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-tap_metrics;monitoring;help' {
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'Print the Prometheus recording rules and alerts')
            [CompletionResult]::new('dashboards', 'dashboards', [CompletionResultType]::ParameterValue, 'Write the Grafana dashboards into a directory, one file each')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-tap_metrics;monitoring;help;rules' {
            break
        }
        'kubectl-tap_metrics;monitoring;help;dashboards' {
            break
        }
        'kubectl-tap_metrics;monitoring;help;help' {
            break
        }
        'kubectl-tap_metrics;completion' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-tap_metrics;help' {
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print or check KSM configs')
            [CompletionResult]::new('monitoring', 'monitoring', [CompletionResultType]::ParameterValue, 'Grafana dashboards and Prometheus alerts for these metrics')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-tap_metrics;help;config' {
            [CompletionResult]::new('default', 'default', [CompletionResultType]::ParameterValue, 'Print the embedded TAP config, a starting point for your own')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check a config file (`-` for standard input) and report what it defines')
            break
        }
        'kubectl-tap_metrics;help;config;default' {
            break
        }
        'kubectl-tap_metrics;help;config;validate' {
            break
        }
        'kubectl-tap_metrics;help;monitoring' {
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'Print the Prometheus recording rules and alerts')
            [CompletionResult]::new('dashboards', 'dashboards', [CompletionResultType]::ParameterValue, 'Write the Grafana dashboards into a directory, one file each')
            break
        }
        'kubectl-tap_metrics;help;monitoring;rules' {
            break
        }
        'kubectl-tap_metrics;help;monitoring;dashboards' {
            break
        }
        'kubectl-tap_metrics;help;completion' {
            break
        }
        'kubectl-tap_metrics;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
