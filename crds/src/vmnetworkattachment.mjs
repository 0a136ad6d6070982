// vmnetworkattachment.mjs - VMNetworkAttachment: a network VMs connect to.
import {
    P, arr, bool, docStop, enm, int32, int64, mapOf, nyh, obj, req, str,
    strList, strMap, time,
} from './dsl.mjs';
import { conditions } from './k8s.mjs';
import { environment, localRef } from './common.mjs';

const vlanID = (description) => int32(description, { minimum: 1, maximum: 4094 });

const network = obj('The network on each kind of provider; set the block ' +
                    'for your provider.', {
    vsphere: obj('A vSphere port group.', {
        portgroup: str('Port group (network) name.', { maxLength: 255 }),
        distributedSwitch: nyh(obj('Distributed switch of the port group.', {
            name: req(str('Switch name.', { maxLength: 255 })),
            uuid: str('Switch UUID.'),
            portgroupType: enm('Port binding.', ['ephemeral', 'distributed']),
        })),
        vlan: nyh(obj('VLAN settings.', {
            type: enm('VLAN mode.', ['none', 'vlan', 'pvlan', 'trunk'],
                      { default: 'none' }),
            vlanID: vlanID('VLAN ID.'),
            trunkVlanIDs: arr('VLAN IDs of a trunk.', { type: 'integer',
                                                        format: 'int32' },
                              { maxItems: 100 }),
            primaryVlanID: vlanID('Primary private VLAN ID.'),
            secondaryVlanID: vlanID('Secondary private VLAN ID.'),
        })),
        security: nyh(obj('Port group security policy.', {
            allowPromiscuous: bool('Allow promiscuous mode.', { default: false }),
            allowMACChanges: bool('Allow MAC address changes.',
                                  { default: true }),
            allowForgedTransmits: bool('Allow forged transmits.',
                                       { default: true }),
        })),
        trafficShaping: nyh(obj('Traffic shaping.', {
            enabled: bool('Enable traffic shaping.', { default: false }),
            averageBandwidth: int64('Average bandwidth in bit/s.',
                                    { minimum: 1000 }),
            peakBandwidth: int64('Peak bandwidth in bit/s.', { minimum: 1000 }),
            burstSize: int64('Burst size in bytes.', { minimum: 1024 }),
        })),
        pciSlotNumber: int32('PCI slot of the NIC.',
                             { minimum: 32, maximum: 1024 }),
        adapterType: nyh(enm('NIC model.', ['vmxnet3', 'e1000', 'e1000e'],
                             { default: 'vmxnet3' })),
    }),
    libvirt: obj('A libvirt network or host bridge.', {
        networkName: str('libvirt network name.', { maxLength: 255 }),
        bridge: obj('A host bridge.', {
            name: req(str('Bridge interface name.', { maxLength: 15 })),
            stp: nyh(bool('Spanning tree protocol.', { default: false })),
            delay: nyh(int32('Forward delay in seconds.',
                             { minimum: 0, maximum: 30 })),
        }),
        model: enm('NIC model.', ['virtio', 'e1000', 'e1000e', 'rtl8139',
                                  'pcnet', 'ne2k_pci'],
                   { default: 'virtio' }),
        driver: nyh(obj('NIC driver settings.', {
            name: enm('Back-end driver.', ['kvm', 'vfio', 'uio']),
            queues: int32('Number of queues.', { minimum: 1, maximum: 16 }),
            txMode: enm('Transmit mode.', ['iothread', 'timer']),
            ioEventFD: bool('Use ioeventfd.'),
            eventIDX: bool('Use event index.'),
        })),
        filterRef: nyh(obj('An nwfilter.', {
            filter: req(str('Filter name.', { maxLength: 255 })),
            parameters: strMap('Filter parameters.', { maxProperties: 20 }),
        })),
    }),
    proxmox: obj('A Proxmox VE bridge.', {
        bridge: str('Bridge, e.g. vmbr0.',
                    { maxLength: 15, pattern: '^vmbr[0-9]+$' }),
        model: nyh(enm('NIC model.', ['virtio', 'e1000', 'rtl8139', 'vmxnet3'],
                       { default: 'virtio' })),
        vlanTag: nyh(vlanID('VLAN tag.')),
        firewall: nyh(bool('Enable the Proxmox firewall on the NIC.',
                           { default: false })),
        rateLimit: nyh(int32('Rate limit in MB/s.', { minimum: 1 })),
        mtu: nyh(int32('MTU.', { minimum: 68, maximum: 65520 })),
    }),
    type: nyh(enm('Kind of network.',
                  ['bridged', 'nat', 'isolated', 'host-only', 'external'],
                  { default: 'bridged' })),
    mtu: nyh(int32('MTU.', { minimum: 68, maximum: 9000, default: 1500 })),
});

const ipAllocation = obj('How guests on the network get addresses.', {
    type: enm('Allocation method.', ['DHCP', 'Static', 'Pool', 'None'],
              { default: 'DHCP' }),
    staticConfig: obj('A static address.', {
        address: req(str('Address in CIDR form, e.g. 192.0.2.10/24.',
                         { pattern: P.cidr4 })),
        gateway: str('Default gateway.', { pattern: P.ipv4 }),
        routes: arr('Extra routes.', obj('A route.', {
            destination: req(str('Destination in CIDR form.',
                                 { pattern: P.cidr4 })),
            gateway: req(str('Next hop.', { pattern: P.ipv4 })),
            metric: int32('Route metric.', { minimum: 0, maximum: 65535 }),
        }), { maxItems: 20 }),
    }),
    poolConfig: obj('An address from a pool.', {
        poolRef: req(localRef('The address pool.')),
        preferredIP: str('Address to ask for.', { pattern: P.ipv4 }),
    }),
    dhcpConfig: obj('DHCP client settings.', {
        clientID: str('DHCP client identifier.', { maxLength: 255 }),
        hostname: str('Host name to send.', { maxLength: 255 }),
        options: strMap('DHCP options.', { maxProperties: 20 }),
    }),
    dnsConfig: obj('DNS settings.', {
        servers: strList('DNS servers.', { maxItems: 10 }),
        searchDomains: strList('Search domains.', { maxItems: 10 }),
        options: strMap('Resolver options.', { maxProperties: 10 }),
    }),
});

const policy = ['ACCEPT', 'DROP', 'REJECT'];
const security = obj('Firewall, isolation and encryption.', {
    firewall: obj('Firewall.', {
        enabled: bool('Enable the firewall.', { default: false }),
        defaultPolicy: enm('Policy for traffic no rule matches.', policy,
                           { default: 'ACCEPT' }),
        rules: arr('Rules.', obj('A firewall rule.', {
            name: req(str('Rule name.', { maxLength: 255 })),
            action: req(enm('Action.', policy)),
            direction: req(enm('Direction.', ['in', 'out', 'inout'])),
            protocol: enm('Protocol.', ['tcp', 'udp', 'icmp', 'all']),
            sourceCIDR: str('Source addresses (CIDR).'),
            destinationCIDR: str('Destination addresses (CIDR).'),
            ports: obj('Port range.', {
                start: req(int32('First port.', { minimum: 1, maximum: 65535 })),
                end: int32('Last port.', { minimum: 1, maximum: 65535 }),
            }),
            priority: int32('Rule priority.', { minimum: 1, maximum: 1000 }),
        }), { maxItems: 100 }),
    }),
    isolation: obj('Network isolation.', {
        mode: enm('Isolation mode.', ['none', 'strict', 'custom']),
        allowedNetworks: strList('Networks that may be reached.',
                                 { maxItems: 50 }),
        deniedNetworks: strList('Networks that may not be reached.',
                                { maxItems: 50 }),
    }),
    encryption: obj('Traffic encryption.', {
        enabled: bool('Encrypt traffic.', { default: false }),
        protocol: enm('Protocol.', ['ipsec', 'wireguard', 'openvpn']),
        keyRef: localRef('Secret with the keys.'),
    }),
});

export default {
    kind: 'VMNetworkAttachment',
    plural: 'vmnetworkattachments',
    shortNames: ['vmnet'],
    doc: 'vmnetworkattachment',
    description: 'VMNetworkAttachment names a network on the providers ' +
        '(vSphere port group, libvirt network or bridge, Proxmox bridge) ' +
        'that VirtualMachine NICs connect to.',
    columns: [
        { name: 'Ready', type: 'boolean', jsonPath: '.status.ready' },
        { name: 'Type', type: 'string', jsonPath: '.spec.network.type' },
        { name: 'Connected VMs', type: 'integer',
          jsonPath: '.status.connectedVMs' },
        { name: 'Providers', type: 'string',
          jsonPath: '.status.availableOn[*]' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: obj('Desired network.', {
        network: req(network),
        ipAllocation: nyh(ipAllocation),
        security: nyh(security),
        qos: nyh(obj('Quality of service.', {
            ingressLimit: int64('Inbound limit in bit/s.', { minimum: 1000 }),
            egressLimit: int64('Outbound limit in bit/s.', { minimum: 1000 }),
            priority: int32('Traffic priority (802.1p).',
                            { minimum: 0, maximum: 7 }),
            dscp: int32('DSCP value.', { minimum: 0, maximum: 63 }),
        })),
        metadata: obj('Descriptive information.', {
            displayName: str('Display name.', { maxLength: 255 }),
            description: str('Description.', { maxLength: 1024 }),
            environment: environment(),
            tags: strMap('Tags.', { maxProperties: 50 }),
        }),
    }),
    status: obj('Observed state of the network.', {
        ready: bool('Whether the network is usable.'),
        phase: enm('Phase.', ['Pending', 'Configuring', 'Ready', 'Failed']),
        message: str('Human-readable detail about the phase.'),
        availableOn: strList('Providers on which the network exists.'),
        conditions: conditions(),
        observedGeneration: int64('The .metadata.generation last acted on.'),
        connectedVMs: int32('Number of VMs connected.'),
        ipAllocations: arr('Addresses handed out.', obj('An address.', {
            vm: req(str('VirtualMachine name.')),
            ip: req(str('IP address.')),
            mac: str('MAC address.'),
            allocatedAt: time('When it was allocated.'),
            leaseExpiry: time('When the lease expires.'),
        })),
        providerStatus: docStop(mapOf('State of the network per provider.', obj(
            'State of the network on one provider.', {
                available: req(bool('Whether the network is there.')),
                id: str('Provider-specific identifier.'),
                state: str('Provider-specific state.'),
                lastUpdated: time('When this entry was updated.'),
                message: str('Details.'),
            }), { $docType: 'map of object' })),
    }),
};
