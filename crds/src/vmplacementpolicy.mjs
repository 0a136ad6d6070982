// vmplacementpolicy.mjs - VMPlacementPolicy: placement rules for VMs.
import {
    arr, bool, docStop, duration, enm, int32, int64, mapOf, nyh, obj, quantity,
    req, str, strList, strMap, time,
} from './dsl.mjs';
import { conditions, labelSelector } from './k8s.mjs';
import { localRef } from './common.mjs';

const names = (description, maxItems) => strList(description, { maxItems });
const scope = () => enm('strict: a rule; preferred: a preference.',
                        ['strict', 'preferred']);

const constraints = (description) => obj(description, {
    clusters: nyh(names('Clusters.', 50)),
    datastores: nyh(names('Datastores.', 100)),
    hosts: names('Hosts.', 200),
    folders: nyh(names('VM folders.', 50)),
    resourcePools: nyh(names('Resource pools.', 100)),
    networks: nyh(names('Networks.', 50)),
    zones: nyh(names('Zones.', 20)),
    regions: nyh(names('Regions.', 20)),
    nodeSelector: nyh(strMap('Host labels.', { maxProperties: 20 })),
    tolerations: nyh(arr('Host taints tolerated.', obj('A toleration.', {
        key: str('Taint key.', { maxLength: 253 }),
        operator: enm('Operator.', ['Exists', 'Equal'], { default: 'Equal' }),
        value: str('Taint value.', { maxLength: 253 }),
        effect: enm('Taint effect.', ['NoSchedule', 'PreferNoSchedule',
                                      'NoExecute']),
        tolerationSeconds: int64('How long a NoExecute taint is tolerated.',
                                 { minimum: 0 }),
    }), { maxItems: 20 })),
    excludedClusters: nyh(names('Clusters never to use.', 50)),
    excludedHosts: names('Hosts never to use.', 200),
    excludedDatastores: nyh(names('Datastores never to use.', 100)),
});

const vmAffinityTerm = obj('VMs to be placed with (or apart from).', {
    labelSelector: labelSelector('VMs the term applies to.'),
    namespaces: strList('Namespaces of those VMs.', { maxItems: 20 }),
    namespaceSelector: nyh(labelSelector('Namespaces of those VMs, by label.')),
    topologyKey: req(str('Topology domain; only host (kubernetes.io/hostname) ' +
                         'is honoured yet.',
                         { maxLength: 253 })),
    matchExpressions: arr('Extra requirements on VM labels.', obj(
        'A requirement.', {
            key: req(str('Label key.', { maxLength: 253 })),
            operator: req(enm('Operator.', ['In', 'NotIn', 'Exists',
                                            'DoesNotExist'])),
            values: strList('Values.', { maxItems: 50 }),
        }), { maxItems: 20 }),
});

const vmAffinity = (description) => obj(description, {
    requiredDuringScheduling: arr('Terms that must hold.', vmAffinityTerm,
                                  { maxItems: 20 }),
    preferredDuringScheduling: arr('Terms preferred, by weight.', obj(
        'A weighted term.', {
            weight: req(int32('Weight.', { minimum: 1, maximum: 100 })),
            vmAffinityTerm: req(vmAffinityTerm),
        }), { maxItems: 20 }),
});

const rule = (description, extra) => obj(description, {
    enabled: req(bool('Enable the rule.')),
    ...extra,
    scope: scope(),
});

const maxPer = (what, max) => int32(`Maximum VMs per ${what}.`,
                                    { minimum: 1, maximum: max });
const appLabel = () => str('VM label naming the application.',
                           { default: 'app' });

export default {
    kind: 'VMPlacementPolicy',
    plural: 'vmplacementpolicies',
    shortNames: ['vmpp'],
    doc: 'vmplacementpolicy',
    description: 'VMPlacementPolicy holds placement rules (hard and soft ' +
        'constraints, affinity and anti-affinity) that VirtualMachines ' +
        'reference through spec.placementRef.',
    columns: [
        { name: 'Used By VMs', type: 'string',
          jsonPath: '.status.usedByVMs[*].name',
          description: 'VirtualMachines using this policy.' },
        { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
        { name: 'Successful', type: 'integer',
          jsonPath: '.status.placementStats.successfulPlacements' },
        { name: 'Failed', type: 'integer',
          jsonPath: '.status.placementStats.failedPlacements' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: obj('Desired placement rules.', {
        hard: constraints('Constraints that must hold.'),
        soft: constraints('Constraints preferred when possible.'),
        antiAffinity: obj('Keep VMs apart.', {
            vmAntiAffinity: vmAffinity('Apart from VMs matching terms.'),
            hostAntiAffinity: rule('Spread over hosts.',
                                   { maxVMsPerHost: maxPer('host', 1000) }),
            clusterAntiAffinity: nyh(rule('Spread over clusters.', {
                maxVMsPerCluster: maxPer('cluster', 10000),
            })),
            datastoreAntiAffinity: nyh(rule('Spread over datastores.', {
                maxVMsPerDatastore: maxPer('datastore', 10000),
            })),
            zoneAntiAffinity: nyh(rule('Spread over zones.',
                                   { maxVMsPerZone: maxPer('zone', 10000) })),
            applicationAntiAffinity: nyh(rule('Spread VMs of one application.',
                                          { applicationLabel: appLabel() })),
        }),
        affinity: obj('Keep VMs together or on preferred places.', {
            vmAffinity: nyh(vmAffinity('With VMs matching terms.')),
            hostAffinity: rule('Preferred hosts.', {
                preferredHosts: names('Hosts.', 50),
            }),
            clusterAffinity: nyh(rule('Preferred clusters.', {
                preferredClusters: names('Clusters.', 20),
            })),
            datastoreAffinity: nyh(rule('Preferred datastores.', {
                preferredDatastores: names('Datastores.', 50),
            })),
            zoneAffinity: nyh(rule('Preferred zones.', {
                preferredZones: names('Zones.', 10),
            })),
            applicationAffinity: nyh(rule('Keep VMs of one application together.',
                                      { applicationLabel: appLabel() })),
        }),
        resourceConstraints: nyh(obj('Capacity the chosen host must have.', {
            minCPUPerHost: int32('Minimum CPUs of the host.', { minimum: 1 }),
            minMemoryPerHost: quantity('Minimum memory of the host.'),
            minDiskSpacePerHost: quantity('Minimum free disk of the host.'),
            maxCPUUtilization: int32('Maximum CPU use of the host, percent.',
                                     { minimum: 0, maximum: 100 }),
            maxMemoryUtilization: int32('Maximum memory use, percent.',
                                        { minimum: 0, maximum: 100 }),
            maxDiskUtilization: int32('Maximum disk use, percent.',
                                      { minimum: 0, maximum: 100 }),
            requiredFeatures: names('Host features required.', 20),
            preferredFeatures: names('Host features preferred.', 20),
        })),
        securityConstraints: nyh(obj('Security the chosen host must offer.', {
            requireSecureBoot: bool('Secure boot.'),
            requireTPM: bool('A TPM.'),
            requireEncryptedStorage: bool('Encrypted storage.'),
            requireNUMATopology: bool('NUMA topology exposed.'),
            allowedSecurityGroups: names('Security groups allowed.', 20),
            deniedSecurityGroups: names('Security groups denied.', 20),
            isolationLevel: enm('Isolation level.',
                                ['none', 'basic', 'strict', 'maximum']),
            trustLevel: enm('Trust level.', ['untrusted', 'basic', 'trusted',
                                             'highly-trusted']),
        })),
        priority: nyh(int32('Priority among policies; higher wins.',
                            { minimum: 0, maximum: 1000 })),
        weight: nyh(int32('Weight of the soft rules.', { minimum: 1, maximum: 100 })),
    }),
    status: obj('Observed state of the policy.', {
        observedGeneration: int64('The .metadata.generation last acted on.'),
        usedByVMs: arr('VirtualMachines using the policy.',
                       localRef('A VirtualMachine.'), { maxItems: 1000 }),
        conditions: conditions(),
        validationResults: docStop(mapOf('Validation per provider.', obj(
            'Result for one provider.', {
                valid: req(bool('Whether the policy is valid there.')),
                message: str('Details.'),
                warnings: strList('Warnings.', { maxItems: 20 }),
                errors: strList('Errors.', { maxItems: 20 }),
                supportedFeatures: strList('Features supported.',
                                           { maxItems: 50 }),
                unsupportedFeatures: strList('Features not supported.',
                                             { maxItems: 50 }),
                lastValidated: time('When it was validated.'),
            }), { $docType: 'map of object' })),
        placementStats: obj('Placement statistics.', {
            totalPlacements: int32('Placements.'),
            successfulPlacements: int32('Successful placements.'),
            failedPlacements: int32('Failed placements.'),
            averagePlacementTime: duration('Average placement time.'),
            constraintViolations: int32('Constraint violations.'),
            lastPlacementTime: time('Last placement.'),
            placementDistribution: mapOf('VMs per placement target.',
                                         { type: 'integer', format: 'int32' },
                                         { $docType: 'map of integer' }),
        }),
        conflictingPolicies: arr('Policies that conflict with this one.', obj(
            'A conflict.', {
                policyName: req(str('The other policy.')),
                conflictType: req(enm('Kind of conflict.',
                                      ['hard', 'soft', 'resource', 'security',
                                       'affinity'])),
                description: str('Details.'),
                severity: enm('Severity.', ['low', 'medium', 'high',
                                            'critical']),
                resolutionSuggestion: str('How to resolve it.'),
            }), { maxItems: 50 }),
    }),
};
