# shellcheck shell=bash
# tests/vsphere/soap.sh - a tiny vim25 SOAP client in bash + curl, so the
# suite judges vcsim's state through the vSphere API itself, not through
# virtrigaud.  Source it, set SOAP_URL (https://HOST:PORT/sdk), SOAP_JAR
# (a cookie file) and SOAP_CA (a CA file), then call soap_login USER PASS.

# soap_call BODY: posts one envelope, prints the answer.
soap_call() {
    curl -s --cacert "$SOAP_CA" -b "$SOAP_JAR" -c "$SOAP_JAR" "$SOAP_URL" \
        -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "urn:vim25/6.5"' \
        --data-binary "<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>$1</soapenv:Body></soapenv:Envelope>"
}

soap_login() {
    : >"$SOAP_JAR"
    soap_call "<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>$1</userName><password>$2</password></Login>" |
        grep -q LoginResponse
}

# soap_vms: one line per VM: "name|ref|powerState|numCPU|memoryMB|template|snapshots|instanceUuid|host"
soap_vms() {
    local view
    view=$(soap_call '<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this><container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>' |
        tr -d '\n' | sed -n 's/.*<returnval type="ContainerView">\([^<]*\)<.*/\1/p')
    [ -n "$view" ] || return 1
    soap_call "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet><pathSet>config.hardware.numCPU</pathSet><pathSet>config.hardware.memoryMB</pathSet><pathSet>config.template</pathSet><pathSet>snapshot</pathSet><pathSet>config.instanceUuid</pathSet><pathSet>runtime.host</pathSet></propSet><objectSet><obj type=\"ContainerView\">$view</obj><skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options/></RetrievePropertiesEx>" |
        tr -d '\n' | sed 's/<objects>/\n/g' | tail -n +2 | awk '
        function prop(p,   s, i) {
            i = index($0, "<name>" p "</name>")
            if (!i) return ""
            s = substr($0, i); sub(/^[^>]*>[^>]*>[^>]*>/, "", s); sub(/<.*/, "", s)
            return s
        }
        {
            ref = $0; sub(/^<obj type="VirtualMachine">/, "", ref); sub(/<.*/, "", ref)
            n = gsub(/<snapshot type="VirtualMachineSnapshot">/, "&")
            print prop("name") "|" ref "|" prop("runtime.powerState") "|" prop("config.hardware.numCPU") "|" prop("config.hardware.memoryMB") "|" prop("config.template") "|" n "|" prop("config.instanceUuid") "|" prop("runtime.host")
        }'
    soap_call "<DestroyView xmlns=\"urn:vim25\"><_this type=\"ContainerView\">$view</_this></DestroyView>" >/dev/null
}

# soap_vm NAME FIELD: one field (1-based, as in soap_vms) of VM NAME.
soap_vm() {
    soap_vms | awk -F'|' -v n="$1" -v f="$2" '$1 == n {print $f; exit}'
}

# soap_vm_task METHOD REF: runs a task method without arguments on a VM.
soap_vm_task() {
    soap_call "<$1 xmlns=\"urn:vim25\"><_this type=\"VirtualMachine\">$2</_this></$1>"
}

# soap_extra REF KEY: the value of extraConfig KEY of VM REF.
soap_extra() {
    soap_call "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>config.extraConfig</pathSet></propSet><objectSet><obj type=\"VirtualMachine\">$1</obj></objectSet></specSet><options/></RetrievePropertiesEx>" |
        tr -d '\n' | sed 's/<OptionValue/\n&/g' | grep -F "<key>$2</key>" |
        sed -n 's/.*<value[^>]*>\([^<]*\)<\/value>.*/\1/p' | head -n 1
}
