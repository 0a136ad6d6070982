// provider.mjs - Provider: a hypervisor endpoint and the plugin that
// drives it.
import {
    arr, bool, docStop, duration, enm, int32, int64, mapOf, nyh, obj, req,
    str, strList, strMap, time,
} from './dsl.mjs';
import {
    affinity, conditions, coreLocalRef, envVar, probe, resourceRequirements,
    securityContext, toleration,
} from './k8s.mjs';
import { objectRef } from './common.mjs';

const capabilities = ['VirtualMachines', 'Snapshots', 'Cloning',
                      'LiveMigration', 'ConsoleAccess', 'DiskManagement',
                      'NetworkManagement', 'GPUPassthrough',
                      'HighAvailability', 'Backup', 'Templates'];

const runtime = obj('How to run the provider out of process, as its own ' +
                    'Deployment. Optional here: plugins run inside the ' +
                    'manager.', {
    mode: enm('Runtime mode.', ['Remote'], { default: 'Remote' }),
    image: req(str('Container image of the provider.', {
        pattern: '^[a-zA-Z0-9._/-]+(:[a-zA-Z0-9._-]+)?(@[a-zA-Z0-9]+:[a-fA-F0-9]{64})?$',
    })),
    imagePullPolicy: enm('Image pull policy.',
                         ['Always', 'Never', 'IfNotPresent'],
                         { default: 'IfNotPresent' }),
    imagePullSecrets: arr('Secrets for pulling the image.',
                          coreLocalRef('A Secret in the same namespace.'),
                          { maxItems: 10 }),
    replicas: int32('Number of provider pods.',
                    { minimum: 1, maximum: 10, default: 1 }),
    service: obj('The provider\'s Service.', {
        port: int32('gRPC port.',
                    { minimum: 1024, maximum: 65535, default: 9443 }),
        tls: obj('TLS between the manager and the provider.', {
            enabled: bool('Use TLS.', { default: true }),
            secretRef: coreLocalRef('Secret with tls.crt, tls.key and ' +
                                    'ca.crt.'),
            insecureSkipVerify: bool('Do not verify the provider\'s ' +
                                     'certificate.', { default: false }),
        }),
    }),
    resources: resourceRequirements('Compute resources of the provider pod.'),
    nodeSelector: strMap('Node labels the provider pod must run on.'),
    tolerations: arr('Tolerations of the provider pod.', toleration,
                     { maxItems: 20 }),
    affinity: affinity('Affinity of the provider pod.'),
    securityContext: securityContext('Security context of the provider ' +
                                     'container.'),
    logLevel: enm('Log level.', ['debug', 'info', 'warn', 'error'],
                  { default: 'info' }),
    logFormat: enm('Log format.', ['text', 'json'], { default: 'text' }),
    env: arr('Extra environment variables.', envVar, { maxItems: 50 }),
    livenessProbe: nyh(probe('Liveness probe of the provider container.')),
    readinessProbe: nyh(probe('Readiness probe of the provider container.')),
});

// Settings of the in-tree plugins, which receive the whole Provider spec
// (docs/providers/<type>.md).  Ranges here mirror the plugins' own checks;
// plugin defaults stay in the plugins, not in the schema.
const plainName = (description) =>
    str(description, { maxLength: 255, pattern: '^[A-Za-z0-9._-]+$' });

const libvirt = obj('Settings of the libvirt plugin (type libvirt); see ' +
                    'docs/providers/libvirt.md.', {
    storagePool: plainName('Default storage pool (plugin default: ' +
                           '"default"); wins over defaults.datastore.'),
    defaultNetwork: plainName('libvirt network for VMs that name none; ' +
                              'wins over defaults.network.'),
    domainType: str('Domain type when a VM names none, e.g. kvm or qemu ' +
                    '(plugin default: probed).',
                    { maxLength: 16, pattern: '^[a-z][a-z0-9]*$' }),
    vncListen: str('Listen address of new VMs\' VNC displays (plugin ' +
                   'default 127.0.0.1); "none" for no display.',
                   { maxLength: 255 }),
    gracefulShutdownTimeoutSeconds: int32('Graceful shutdown timeout when ' +
                                          'the caller gives none (plugin ' +
                                          'default 60).',
                                          { minimum: 1, maximum: 86400 }),
    keepaliveIntervalSeconds: int32('Seconds between keepalive probes ' +
                                    '(plugin default 5); 0 turns keepalive ' +
                                    'off.', { minimum: 0, maximum: 3600 }),
    keepaliveCount: int32('Unanswered probes before the connection is ' +
                          'dropped (plugin default 3).',
                          { minimum: 1, maximum: 100 }),
});

const mock = obj('Settings of the mock plugin (type mock), for tests and ' +
                 'demos; see docs/providers/mock.md.', {
    async: bool('Mutating calls return a task.'),
    taskPolls: int32('Polls that report a task running before it is done.',
                     { minimum: 0, maximum: 1000000 }),
    latencyMs: int32('Delay added to every call, in milliseconds.',
                     { minimum: 0, maximum: 600000 }),
    hosts: int32('Number of simulated hosts.', { minimum: 1, maximum: 1024 }),
    diskSizeBytes: int64('Size of a new VM\'s boot disk (a multiple of 512).',
                         { minimum: 512, maximum: 1125899906842624 }),
    importMaxBytes: int64('Largest disk an import keeps.',
                          { minimum: 1, maximum: 1099511627776 }),
    caps: strList('Capabilities offered (all when omitted), e.g. ' +
                  'snapshots, clone, listVms.'),
    diskFormats: arr('Disk formats reported and accepted.',
                     enm('A disk format.', ['raw', 'qcow2', 'vmdk'])),
    requireSecret: str('Credential key that validate requires.',
                       { minLength: 1 }),
    stateFile: str('Absolute path of a file that keeps the simulated VMs ' +
                   'across restarts (crash tests).',
                   { pattern: '^/', maxLength: 1000 }),
    faults: docStop(mapOf('Injected faults by method name (create, power, ' +
                          '...).', obj('A fault.', {
        code: req(str('Error code, e.g. UNAVAILABLE or NOTFOUND.',
                      { pattern: '^[A-Z]+$' })),
        after: int64('Calls that succeed before the first failure.',
                     { minimum: 0 }),
        persistent: bool('Fail every later call too.'),
        message: str('Error message.'),
        retryAfterMs: int64('Retry hint in the error, milliseconds.',
                            { minimum: 0, maximum: 4294967295 }),
        task: bool('On an async connection, fail through the task.'),
    }), { $docType: 'map of object' })),
});

const usage = (description) => obj(description, {
    total: int64('Total.'),
    used: int64('Used.'),
    available: int64('Available.'),
    usagePercent: int32('Percent used.'),
});

export default {
    kind: 'Provider',
    plural: 'providers',
    shortNames: ['prov'],
    doc: 'provider',
    description: 'Provider is a hypervisor endpoint (vSphere, libvirt, ' +
        'Proxmox VE, ...) with its credentials; VirtualMachines name the ' +
        'Provider they run on.',
    columns: [
        { name: 'Type', type: 'string', jsonPath: '.spec.type' },
        { name: 'Endpoint', type: 'string', jsonPath: '.spec.endpoint' },
        { name: 'Healthy', type: 'boolean', jsonPath: '.status.healthy' },
        { name: 'Connected VMs', type: 'integer',
          jsonPath: '.status.connectedVMs' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: obj('Desired provider connection.', {
        type: req(str('Plugin that drives the endpoint: vsphere, libvirt, ' +
                      'proxmox or mock, or the name of a third-party ' +
                      'plugin. (firecracker and qemu are accepted for ' +
                      'compatibility; no plugin implements them.)', {
            maxLength: 63,
            pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        })),
        endpoint: req(str('Where the hypervisor is: https://vcenter/sdk, ' +
                          'qemu:///system, qemu+ssh://root@host/system, ' +
                          'test:///default, https://pve:8006, ...', {
            maxLength: 2048,
            pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*://[!-~]*$',
        })),
        credentialSecretRef: objectRef('Secret with the credentials (keys ' +
                                       'depend on the provider type, e.g. ' +
                                       'username and password). Optional: a ' +
                                       'local libvirt or a mock endpoint ' +
                                       'needs none.'),
        insecureSkipVerify: bool('Do not verify the endpoint\'s TLS ' +
                                 'certificate. Deprecated; for tests only.',
                                 { default: false }),
        defaults: obj('Defaults for VMs that do not say otherwise.', {
            datastore: str('Datastore.', { maxLength: 255 }),
            storagePod: str('vSphere datastore cluster.', { maxLength: 255 }),
            cluster: str('Cluster.', { maxLength: 255 }),
            folder: str('VM folder.', { maxLength: 255 }),
            resourcePool: nyh(str('Resource pool.', { maxLength: 255 })),
            network: str('Network.', { maxLength: 255 }),
        }),
        rateLimit: nyh(obj('Rate limit of calls to the endpoint.', {
            qps: int32('Calls per second.',
                       { minimum: 1, maximum: 1000, default: 10 }),
            burst: int32('Burst size.',
                         { minimum: 1, maximum: 2000, default: 20 }),
        })),
        libvirt,
        vsphere: obj('Settings of the vSphere plugin (type vsphere); see ' +
                     'docs/providers/vsphere.md.', {
            insecureSkipVerify: bool('Do not verify the vCenter certificate ' +
                                     '(tests only).'),
            datacenter: str('Datacenter to work in.', { maxLength: 255 }),
            gracefulShutdownTimeoutSeconds: int32('Graceful shutdown ' +
                'timeout when a VM says none.', { minimum: 1, maximum: 86400 }),
        }),
        proxmox: obj('Settings of the Proxmox VE plugin (type proxmox); see ' +
                     'docs/providers/proxmox.md.', {
            maxParallelClones: int32('Clones run at once per connection ' +
                                     '(storage locks); plugin default 2.',
                                     { minimum: 1, maximum: 32 }),
        }),
        mock,
        runtime: nyh(runtime),
        healthCheck: obj('Health checking of the endpoint.', {
            enabled: nyh(bool('Check health.', { default: true })),
            interval: nyh(duration('Time between checks.', { default: '30s' })),
            timeout: nyh(duration('Check timeout.', { default: '10s' })),
            failureThreshold: int32('Consecutive calls failing with ' +
                                    'UNAVAILABLE or TIMEOUT before the ' +
                                    'circuit breaker stops calls to the ' +
                                    'endpoint for a cool-down (5 s, ' +
                                    'doubling to 60 s).',
                                    { minimum: 1, maximum: 10, default: 3 }),
            successThreshold: nyh(int32('Successes before healthy.',
                                        { minimum: 1, maximum: 10, default: 1 })),
        }),
        connectionPooling: obj('Connection pool to the endpoint.', {
            maxConnections: int32('Most reconciles calling the endpoint at ' +
                                  'once; more wait on the queue without ' +
                                  'holding a worker. Default: three ' +
                                  'quarters of the manager\'s workers.',
                                  { minimum: 1, maximum: 100 }),
            maxIdleConnections: nyh(int32('Maximum idle connections.',
                                          { minimum: 1, default: 5 })),
            connectionTimeout: nyh(duration('Connect timeout.', { default: '30s' })),
            idleTimeout: nyh(duration('Idle connection lifetime.',
                                      { default: '5m' })),
        }),
    }),
    status: obj('Observed state of the provider.', {
        healthy: bool('Whether the endpoint answers and the credentials work.'),
        lastHealthCheck: time('When health was last checked.'),
        runtime: obj('State of an out-of-process provider runtime.', {
            mode: enm('Runtime mode.', ['Remote']),
            endpoint: str('Address of the provider service.'),
            serviceRef: coreLocalRef('The provider Service.'),
            phase: enm('Runtime phase.', ['Pending', 'Starting', 'Running',
                                          'Stopping', 'Failed']),
            message: str('Details.'),
            readyReplicas: int32('Ready pods.'),
            availableReplicas: int32('Available pods.'),
        }),
        conditions: conditions(),
        observedGeneration: int64('The .metadata.generation last acted on.'),
        capabilities: arr('Coarse capabilities.', enm('A capability.',
                                                      capabilities)),
        reportedCapabilities: obj('What the provider reported it can do.', {
            supportsReconfigureOnline: bool('Reconfigure a running VM.'),
            supportsDiskExpansionOnline: bool('Grow disks of a running VM.'),
            supportsSnapshots: bool('Snapshots.'),
            supportsMemorySnapshots: bool('Snapshots with memory state.'),
            supportsLinkedClones: bool('Linked clones.'),
            supportsImageImport: bool('Importing images.'),
            supportedDiskTypes: strList('Disk types.'),
            supportedNetworkTypes: strList('Network types.'),
            supportsDiskExport: bool('Disk export.'),
            supportsDiskImport: bool('Disk import.'),
            supportedExportFormats: strList('Export formats.'),
            supportedImportFormats: strList('Import formats.'),
            supportsExportCompression: bool('Compressed export.'),
            supportedExportBackends: strList('Export storage backends ' +
                                             '(pvc, nfs, s3).'),
            supportedImportBackends: strList('Import storage backends.'),
            supportedTransferModes: strList('Transfer modes (relay, ' +
                                            'direct).'),
        }),
        version: str('Version reported by the provider.'),
        connectedVMs: int32('Number of VirtualMachines using the provider.'),
        resourceUsage: obj('Capacity and usage of the endpoint.', {
            cpu: usage('CPU.'),
            memory: usage('Memory.'),
            storage: usage('Storage.'),
            network: obj('Network counters.', {
                bytesReceived: int64('Bytes received.'),
                bytesSent: int64('Bytes sent.'),
                packetsReceived: int64('Packets received.'),
                packetsSent: int64('Packets sent.'),
            }),
        }),
        adoption: obj('State of the adoption of unmanaged VMs.', {
            lastDiscoveryTime: time('When VMs were last discovered.'),
            discoveredVMs: int32('VMs found.'),
            adoptedVMs: int32('VMs adopted.'),
            failedAdoptions: int32('Adoptions that failed.'),
            message: str('Details.'),
        }),
    }),
};
