// k8s.mjs - schemas of the Kubernetes types our kinds embed
// (meta/v1 Condition and LabelSelector, core/v1 scheduling, probe, env and
// security types, PersistentVolumeClaimSpec), written from the Kubernetes
// API reference.
import {
    arr, bool, docStop, enm, int32, int64, intOrString, mapOf, obj, quantity,
    req, str, strList, strMap, time,
} from './dsl.mjs';

// metav1.Condition.
const condition = obj(
    'One aspect of the current state, in the standard Kubernetes shape.', {
        type: req(str('Type of condition in CamelCase, e.g. Ready.', {
            maxLength: 316,
            pattern: String.raw`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`,
        })),
        status: req(enm('Status of the condition.', ['True', 'False', 'Unknown'])),
        observedGeneration: int64(
            'The .metadata.generation the condition was set for.',
            { minimum: 0 }),
        lastTransitionTime: req(time(
            'When the condition last changed from one status to another.')),
        reason: req(str(
            'Programmatic identifier for the last transition, in CamelCase.', {
                minLength: 1, maxLength: 1024,
                pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
            })),
        message: req(str('Human-readable details about the transition.',
                         { maxLength: 32768 })),
    });

export const conditions = (description) => arr(
    description || 'Latest observations of the object\'s state; see the ' +
        'kind\'s documentation for the condition types.',
    condition, {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        $docType: 'array of Condition',
        $docStop: true,
    });

const labelSelectorRequirement = obj(
    'A label key, an operator and values.', {
        key: req(str('The label key the selector applies to.')),
        operator: req(str('In, NotIn, Exists or DoesNotExist.')),
        values: strList('Values for In and NotIn; empty for Exists and ' +
                        'DoesNotExist.', { 'x-kubernetes-list-type': 'atomic' }),
    });

// metav1.LabelSelector.
export const labelSelector = (description) => docStop(obj(description, {
    matchLabels: strMap('Labels that must all match, as a map.'),
    matchExpressions: arr('Label selector requirements, ANDed.',
                          labelSelectorRequirement,
                          { 'x-kubernetes-list-type': 'atomic' }),
}, { 'x-kubernetes-map-type': 'atomic', $docType: 'LabelSelector' }));

// core/v1 LocalObjectReference (name may be empty, as upstream allows).
export const coreLocalRef = (description) => obj(description, {
    name: str('Name of the referent.', { default: '' }),
}, { 'x-kubernetes-map-type': 'atomic' });

export const toleration = docStop(obj(
    'Lets the workload run on nodes with a matching taint.', {
        key: str('Taint key the toleration applies to; empty matches all keys.'),
        operator: str('Exists or Equal (default).'),
        value: str('Taint value the toleration matches.'),
        effect: str('NoSchedule, PreferNoSchedule or NoExecute; empty ' +
                    'matches all effects.'),
        tolerationSeconds: int64('How long a NoExecute taint is tolerated.'),
    }, { $docType: 'Toleration' }));

const nodeSelectorRequirement = obj(
    'A node label or field key, an operator and values.', {
        key: req(str('The label key the selector applies to.')),
        operator: req(str('In, NotIn, Exists, DoesNotExist, Gt or Lt.')),
        values: strList('Values; one integer for Gt and Lt.',
                        { 'x-kubernetes-list-type': 'atomic' }),
    });

const nodeSelectorTerm = obj(
    'Node selector requirements, ANDed.', {
        matchExpressions: arr('Requirements on node labels.',
                              nodeSelectorRequirement,
                              { 'x-kubernetes-list-type': 'atomic' }),
        matchFields: arr('Requirements on node fields.',
                         nodeSelectorRequirement,
                         { 'x-kubernetes-list-type': 'atomic' }),
    }, { 'x-kubernetes-map-type': 'atomic' });

const podAffinityTerm = obj(
    'Pods this one should be co-located with (or not), on a topology domain.', {
        labelSelector: labelSelector('Pods the term applies to.'),
        namespaceSelector: labelSelector('Namespaces the term applies to.'),
        namespaces: strList('Namespaces the term applies to.',
                            { 'x-kubernetes-list-type': 'atomic' }),
        topologyKey: req(str('Node label whose value defines the topology ' +
                             'domain.')),
        matchLabelKeys: strList('Pod label keys merged into labelSelector.',
                                { 'x-kubernetes-list-type': 'atomic' }),
        mismatchLabelKeys: strList('Pod label keys merged, negated, into ' +
                                   'labelSelector.',
                                   { 'x-kubernetes-list-type': 'atomic' }),
    });

const weightedPodAffinityTerm = obj(
    'A pod affinity term with a weight.', {
        weight: req(int32('Weight, 1-100.')),
        podAffinityTerm: req(podAffinityTerm),
    });

const podAffinity = (description) => obj(description, {
    requiredDuringSchedulingIgnoredDuringExecution: arr(
        'Terms that must be met at scheduling time.', podAffinityTerm,
        { 'x-kubernetes-list-type': 'atomic' }),
    preferredDuringSchedulingIgnoredDuringExecution: arr(
        'Terms the scheduler prefers, by weight.', weightedPodAffinityTerm,
        { 'x-kubernetes-list-type': 'atomic' }),
});

// core/v1 Affinity.
export const affinity = (description) => docStop(obj(description, {
    nodeAffinity: obj('Node affinity scheduling rules.', {
        requiredDuringSchedulingIgnoredDuringExecution: obj(
            'Node selector terms that must be met (ORed).', {
                nodeSelectorTerms: req(arr('The terms, ORed.', nodeSelectorTerm,
                                           { 'x-kubernetes-list-type': 'atomic' })),
            }, { 'x-kubernetes-map-type': 'atomic' }),
        preferredDuringSchedulingIgnoredDuringExecution: arr(
            'Terms the scheduler prefers, by weight.', obj(
                'A node selector term with a weight.', {
                    weight: req(int32('Weight, 1-100.')),
                    preference: req(nodeSelectorTerm),
                }),
            { 'x-kubernetes-list-type': 'atomic' }),
    }),
    podAffinity: podAffinity('Pod affinity scheduling rules.'),
    podAntiAffinity: podAffinity('Pod anti-affinity scheduling rules.'),
}, { $docType: 'Affinity' }));

const keySelector = (description) => obj(description, {
    key: req(str('The key to select.')),
    name: str('Name of the referent.', { default: '' }),
    optional: bool('Whether the referent or its key may be missing.'),
}, { 'x-kubernetes-map-type': 'atomic' });

export const envVar = docStop(obj('An environment variable of the ' +
                                  'container.', {
    name: req(str('Variable name.')),
    value: str('Literal value; $(VAR) references are expanded.'),
    valueFrom: obj('Source of the value when value is empty.', {
        configMapKeyRef: keySelector('A key of a ConfigMap.'),
        secretKeyRef: keySelector('A key of a Secret.'),
        fieldRef: obj('A field of the pod.', {
            apiVersion: str('Schema version of fieldPath, default v1.'),
            fieldPath: req(str('Path of the field, e.g. metadata.name.')),
        }, { 'x-kubernetes-map-type': 'atomic' }),
        resourceFieldRef: obj('A resource of the container.', {
            containerName: str('Container name.'),
            divisor: quantity('Output format of the exposed resource.'),
            resource: req(str('Resource to select, e.g. limits.cpu.')),
        }, { 'x-kubernetes-map-type': 'atomic' }),
    }),
}, { $docType: 'EnvVar' }));

const resourceList = (description) =>
    mapOf(description, quantity('Amount of the resource.'),
          { $docType: 'map of quantity' });

export const resourceRequirements = (description) => docStop(obj(description, {
    claims: arr('Dynamic resource claims used by the container.', obj(
        'A resource claim.', {
            name: req(str('Name of a resourceClaims entry of the pod.')),
            request: str('Request within the claim.'),
        }), {
        'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
    }),
    limits: resourceList('Maximum amount of compute resources allowed.'),
    requests: resourceList('Minimum amount of compute resources required.'),
}, { $docType: 'ResourceRequirements' }));

const httpGetAction = obj('An HTTP GET request.', {
    host: str('Host to connect to; defaults to the pod IP.'),
    httpHeaders: arr('Custom request headers.', obj('An HTTP header.', {
        name: req(str('Header name.')),
        value: req(str('Header value.')),
    }), { 'x-kubernetes-list-type': 'atomic' }),
    path: str('Path to request.'),
    port: req(intOrString('Port number or name.')),
    scheme: str('HTTP (default) or HTTPS.'),
});

export const probe = (description) => docStop(obj(description, {
    exec: obj('Run a command in the container.', {
        command: strList('Command line; not run in a shell.',
                         { 'x-kubernetes-list-type': 'atomic' }),
    }),
    httpGet: httpGetAction,
    tcpSocket: obj('Open a TCP connection.', {
        host: str('Host to connect to; defaults to the pod IP.'),
        port: req(intOrString('Port number or name.')),
    }),
    grpc: obj('Call the gRPC health service.', {
        port: req(int32('Port number.')),
        service: str('Service name sent in the request.', { default: '' }),
    }),
    initialDelaySeconds: int32('Seconds after start before the first probe.'),
    periodSeconds: int32('Seconds between probes.'),
    timeoutSeconds: int32('Seconds after which a probe times out.'),
    successThreshold: int32('Consecutive successes to count as healthy.'),
    failureThreshold: int32('Consecutive failures to count as unhealthy.'),
    terminationGracePeriodSeconds: int64('Grace period on probe failure.'),
}, { $docType: 'Probe' }));

const localhostProfile = (description) => obj(description, {
    type: req(str('RuntimeDefault, Unconfined or Localhost.')),
    localhostProfile: str('Profile on the node, for type Localhost.'),
});

export const securityContext = (description) => docStop(obj(description, {
    allowPrivilegeEscalation: bool('Whether a process may gain more ' +
                                   'privileges than its parent.'),
    appArmorProfile: localhostProfile('AppArmor profile.'),
    capabilities: obj('Capabilities to add and drop.', {
        add: strList('Capabilities to add.',
                     { 'x-kubernetes-list-type': 'atomic' }),
        drop: strList('Capabilities to drop.',
                      { 'x-kubernetes-list-type': 'atomic' }),
    }),
    privileged: bool('Run in privileged mode.'),
    procMount: str('Default or Unmasked.'),
    readOnlyRootFilesystem: bool('Mount the root filesystem read-only.'),
    runAsGroup: int64('GID of the container process.'),
    runAsNonRoot: bool('Refuse to start as UID 0.'),
    runAsUser: int64('UID of the container process.'),
    seLinuxOptions: obj('SELinux context.', {
        level: str('SELinux level label.'),
        role: str('SELinux role label.'),
        type: str('SELinux type label.'),
        user: str('SELinux user label.'),
    }),
    seccompProfile: localhostProfile('Seccomp profile.'),
    windowsOptions: obj('Windows-specific settings.', {
        gmsaCredentialSpec: str('GMSA credential spec contents.'),
        gmsaCredentialSpecName: str('Name of the GMSA credential spec.'),
        hostProcess: bool('Run as a host process.'),
        runAsUserName: str('User name of the entrypoint.'),
    }),
}, { $docType: 'SecurityContext' }));

// The part of ObjectMeta a template may carry.  Declared (rather than a
// bare object) so that the API server does not prune the labels.
export const templateMeta = (description) => obj(description, {
    name: str('Name (templates usually leave it empty).'),
    namespace: str('Namespace (templates usually leave it empty).'),
    labels: strMap('Labels given to each created object.'),
    annotations: strMap('Annotations given to each created object.'),
});

export const pvcSpec = (description) => docStop(obj(description, {
    accessModes: strList('ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ' +
                         'ReadWriteOncePod.',
                         { 'x-kubernetes-list-type': 'atomic' }),
    dataSource: obj('Populate the volume from this object.', {
        apiGroup: str('API group of the referent.'),
        kind: req(str('Kind of the referent.')),
        name: req(str('Name of the referent.')),
    }, { 'x-kubernetes-map-type': 'atomic' }),
    dataSourceRef: obj('Populate the volume from this object (any ' +
                       'namespace, with a grant).', {
        apiGroup: str('API group of the referent.'),
        kind: req(str('Kind of the referent.')),
        name: req(str('Name of the referent.')),
        namespace: str('Namespace of the referent.'),
    }),
    resources: obj('Minimum and maximum storage.', {
        limits: resourceList('Maximum amount of storage.'),
        requests: resourceList('Minimum amount of storage.'),
    }),
    selector: labelSelector('Bind only to volumes with these labels.'),
    storageClassName: str('StorageClass to provision from.'),
    volumeAttributesClassName: str('VolumeAttributesClass to use.'),
    volumeMode: str('Filesystem (default) or Block.'),
    volumeName: str('Bind to this PersistentVolume.'),
}, { $docType: 'PersistentVolumeClaimSpec' }));
