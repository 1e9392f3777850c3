"""Lock-out risk rules on real corpus configs: each family fires on a risky change and not on look-alikes.

Each case takes a real running config from ../shared/corpus and builds the intended config by changing one
line (or adding one), so the remediation is what hier_config computes for a real device."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from netremedy.handlers import single_device
from netremedy.logic import risk_rules
from netremedy.logic.remediation import compute_remediation
from netremedy.logic.worker import remediate_device
from netremedy.models.messages import DeviceMessage
from netremedy.models.options import RemediationOptions
from netremedy.models.risks import MAX_RISKS_PER_DEVICE, RiskRule
from netremedy.models.settings import load_settings
from tests.unit.events import context, http_event

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
pytestmark = pytest.mark.corpus

IOS = "cisco_ios/ciscoconfparse_sample_01.conf"
IOS_XE = "cisco_ios/scrapli_cfg_iosxe_csr.conf"
IOS_NAPALM = "cisco_ios/napalm_ios_show_running_config.conf"
NXOS = "cisco_nxos/netutils_nxos_full.conf"
XR = "cisco_xr/netutils_iosxr_dfw1-core-01.conf"
XR_XRV = "cisco_xr/scrapli_cfg_iosxr_xrv.conf"
EOS = "arista_eos/scrapli_cfg_eos_veos.conf"
EOS_LEAF = "arista_eos/pybatfish_aristaevpn_DC1-LEAF2A.conf"
JUNOS = "juniper_junos/scrapli_cfg_junos_vsrx.conf"


def _corpus(name: str) -> str:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"the corpus is not here ({path})")
    return path.read_text()


def _edited(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, f"the corpus config no longer holds {old!r}"
    return text.replace(old, new, 1)


def _flags(
    platform: str, running: str, intended: str, options: RemediationOptions | None = None
) -> list[tuple[str, str, list[str]]]:
    result = compute_remediation(platform, running, intended, options=options)
    return [(flag.rule, flag.line, flag.path) for flag in result.risks]


def _platform(name: str) -> str:
    return name.split("/")[0]


# (corpus file, text to change, what it becomes, the rule expected, the flagged line, its path)
RISKY = [
    # AAA
    (IOS, "aaa new-model\n", "", "ios.aaa.new-model", "no aaa new-model", []),
    (
        IOS,
        "aaa authentication login default local\n",
        "aaa authentication login default group tacacs+ local\n",
        "ios.aaa.method-list",
        "aaa authentication login default group tacacs+ local",
        [],
    ),
    (
        IOS,
        "aaa new-model\n",
        "aaa new-model\ntacacs server ISE\n address ipv4 192.0.2.9\n",
        "ios.aaa.server",
        "tacacs server ISE",
        [],
    ),
    (
        XR,
        "aaa authentication login default group AUTH local\n",
        "aaa authentication login default local\n",
        "xr.aaa.method-list",
        "aaa authentication login default local",
        [],
    ),
    (
        XR,
        "aaa group server tacacs+ AUTH\n",
        "aaa group server tacacs+ AUTH2\n",
        "xr.aaa.server-group",
        "no aaa group server tacacs+ AUTH",
        [],
    ),
    # Console/VTY lines
    (
        IOS,
        " transport input telnet ssh\n",
        " transport input ssh\n",
        "ios.vty.transport-input",
        "transport input ssh",
        ["line vty 0 4"],
    ),
    (
        IOS,
        "line vty 0 4\n",
        "line vty 0 4\n access-class 99 in\n",
        "ios.vty.access-class",
        "access-class 99 in",
        ["line vty 0 4"],
    ),
    (
        IOS_NAPALM,
        "line vty 0 4\n",
        "line vty 0 4\n login authentication VTY\n",
        "ios.vty.login",
        "login authentication VTY",
        ["line vty 0 4"],
    ),
    (
        XR,
        "line default\n",
        "line default\n transport input telnet\n",
        "xr.vty.transport-input",
        "transport input telnet",
        ["line default"],
    ),
    (
        NXOS,
        "line vty\n",
        "line vty\n  access-class PERMIT_ROUTES in\n",
        "nxos.vty.access-class",
        "access-class PERMIT_ROUTES in",
        ["line vty"],
    ),
    # SSH/HTTP(S)/NETCONF/gNMI and host keys
    (IOS_XE, "control-plane\n", "ip ssh version 2\ncontrol-plane\n", "ios.ssh", "ip ssh version 2", []),
    (
        IOS,
        "no ip http secure-server\n",
        "ip http secure-server\n",
        "ios.http",
        "ip http secure-server",
        [],
    ),
    (
        IOS_XE,
        "control-plane\n",
        "crypto key zeroize rsa\ncontrol-plane\n",
        "ios.host-key",
        "crypto key zeroize rsa",
        [],
    ),
    (NXOS, "feature nxapi\n", "", "nxos.ssh", "no feature nxapi", []),
    (XR, "ssh server v2\n", "", "xr.ssh", "no ssh server v2", []),
    (
        EOS,
        "management telnet\n   no shutdown\n",
        "management telnet\n   shutdown\n",
        "eos.management-api",
        "management telnet",
        [],
    ),
    (JUNOS, "        telnet;\n", "", "junos.services", "delete system services telnet", []),
    # Local users (changing one; removing the last one is its own test)
    (
        NXOS,
        "username ntc password 5 <redacted_config>  role network-admin\n",
        "",
        "nxos.user.change",
        "no username ntc password 5 <redacted_config> role network-admin",
        [],
    ),
    (
        EOS_LEAF,
        "username cvpadmin privilege 15",
        "username cvpadmin privilege 1",
        "eos.user.change",
        (
            "username cvpadmin privilege 1 role network-admin secret sha512 "
            "$6$rZKcbIZ7iWGAWTUM$TCgDn1KcavS0s.OV8lacMTUkxTByfzcGlFlYUWroxYuU7M/9bIodhRO7nXGzMweUxvbk8mJmQl8Bh44cRktUj."
        ),
        [],
    ),
    # Management interface and VRF
    (
        NXOS,
        "  vrf member management\n  ip address 10.0.0.15/24\n",
        "  vrf member management\n  ip address 10.0.0.16/24\n",
        "nxos.mgmt-interface.change",
        "ip address 10.0.0.16/24",
        ["interface mgmt0"],
    ),
    (
        XR,
        "interface MgmtEth0/RP0/CPU0/0\n shutdown\n",
        "interface MgmtEth0/RP0/CPU0/0\n",
        "xr.mgmt-interface.change",
        "no shutdown",
        ["interface MgmtEth0/RP0/CPU0/0"],
    ),
    (
        EOS,
        "interface Management1\n   ip address 10.0.0.15/24\n",
        "interface Management1\n   ip address 10.0.0.99/24\n",
        "eos.mgmt-interface.change",
        "ip address 10.0.0.99/24",
        ["interface Management1"],
    ),
    (
        EOS_LEAF,
        "ip route vrf MGMT 0.0.0.0/0 192.168.2.1\n",
        "ip route vrf MGMT 0.0.0.0/0 192.168.2.254\n",
        "eos.mgmt-vrf.route",
        "no ip route vrf MGMT 0.0.0.0/0 192.168.2.1",
        [],
    ),
    (
        NXOS,
        "vrf context management\n",
        "vrf context management\n  ip route 0.0.0.0/0 10.0.0.1\n",
        "nxos.mgmt-vrf.route",
        "ip route 0.0.0.0/0 10.0.0.1",
        ["vrf context management"],
    ),
    (
        JUNOS,
        "address 10.0.0.15/24;",
        "address 10.0.0.16/24;",
        "junos.mgmt-interface",
        "delete interfaces fxp0 unit 0 family inet address 10.0.0.15/24",
        [],
    ),
    # ACLs bound to management access (IOS: the running config applies ACL 99 with ip http access-class)
    (
        IOS,
        "access-list 99 permit 172.16.1.0 0.0.0.255\n",
        "access-list 99 permit 172.16.2.0 0.0.0.255\n",
        "ios.acl.bound",
        "access-list 99 permit 172.16.2.0 0.0.0.255",
        [],
    ),
    # Control-plane policing: a section-level rule flags the section line
    (
        IOS_NAPALM,
        "control-plane\n",
        "control-plane\n service-policy input COPP\n",
        "ios.copp",
        "control-plane",
        [],
    ),
    (NXOS, "copp profile strict\n", "copp profile lenient\n", "nxos.copp.policy", "copp profile lenient", []),
    (EOS, "   no service-policy input copp-system-policy\n", "", "eos.copp", "control-plane", []),
]


@pytest.mark.parametrize(("name", "old", "new", "rule", "line", "path"), RISKY)
def test_a_risky_change_is_flagged_with_its_rule_line_and_path(
    name: str, old: str, new: str, rule: str, line: str, path: list[str]
) -> None:
    # Given a real running config and an intended config that changes one risky line
    running = _corpus(name)
    # When the remediation is computed
    flags = _flags(_platform(name), running, _edited(running, old, new))
    # Then that line is flagged by the rule, with its parents as path
    assert (rule, line, path) in flags, flags


# (corpus file, text to change, what it becomes): changes that look like risky ones but are not.
LOOK_ALIKES = [
    # An ACL that no line or management service applies
    (IOS, " permit 172.16.0.1\n", " permit 172.16.0.2\n"),
    (XR, "ipv4 access-list BOSS\n", "ipv4 access-list BOSS2\n"),
    (NXOS, "ip access-list PERMIT_ROUTES\n", "ip access-list PERMIT_ROUTES2\n"),
    # "user" lines that are not local users
    (XR, "snmp-server user public group1", "snmp-server user public2 group1"),
    (JUNOS, "        user * {\n            any emergency;", "        user * {\n            any alert;"),
    # transport input under an interface, not a line
    (IOS, "interface Loopback0\n", "interface Loopback0\n transport input ssh\n"),
    # interfaces that are not the management port
    (
        NXOS,
        "interface loopback0\n  ip address 10.0.10.4/32\n",
        "interface loopback0\n  ip address 10.0.10.5/32\n",
    ),
    (EOS_LEAF, "   description Tenant_A_OP_Zone_1", "   description Tenant_A_OP_Zone_9"),
    # a route in another VRF; a VRF context that is not management
    (
        NXOS,
        "vrf context management\n",
        "vrf context management\nvrf context blue\n  ip route 0.0.0.0/0 10.0.0.1\n",
    ),
]


@pytest.mark.parametrize(("name", "old", "new"), LOOK_ALIKES)
def test_a_look_alike_change_is_not_flagged(name: str, old: str, new: str) -> None:
    running = _corpus(name)
    intended = _edited(running, old, new)
    result = compute_remediation(_platform(name), running, intended)
    # The change is real (there is a remediation) yet nothing in it is risky
    assert result.remediation and not result.compliant
    assert result.risks == (), result.risks


def test_removing_the_last_local_user_says_so() -> None:
    # Given an IOS-XR device with one local user, and an intended config without it
    running = _corpus(XR_XRV)
    start = running.index("username boxen\n")
    end = running.index("!", start)
    intended = running[:start] + running[end:]
    flags = compute_remediation("cisco_xr", running, intended).risks
    # Then its removal is flagged with the stronger reason
    (flag,) = [flag for flag in flags if flag.rule == "xr.user.change"]
    assert flag.line == "no username boxen" and flag.why == risk_rules.WHY_LAST_USER


def test_changing_the_only_user_is_not_the_last_user_and_removing_one_of_two_is_not_either() -> None:
    running = _corpus(IOS_XE)
    old = "username boxen privilege 15 password 0 b0x3N-b0x3N\n"
    changed = compute_remediation(
        "cisco_ios", running, _edited(running, old, old.replace("b0x3N-b0x3N", "n3w"))
    )
    assert {flag.why for flag in changed.risks if flag.rule == "ios.user.change"} == {risk_rules.WHY_USER}
    two = _edited(running, old, old + "username ops privilege 15 secret 0 x\n")
    one_left = compute_remediation("cisco_ios", two, running)
    assert [(flag.line, flag.why) for flag in one_left.risks] == [
        ("no username ops privilege 15 secret 0 x", risk_rules.WHY_USER)
    ]


def test_junos_removing_the_only_login_user_is_the_last_user() -> None:
    running = _corpus(JUNOS)
    start = running.index("        user boxen {")
    end = running.index("        }\n", running.index("authentication {", start)) + len("        }\n")
    end = running.index("\n", running.index("}", end)) + 1
    intended = running[:start] + running[end:]
    flags = [flag for flag in compute_remediation("juniper_junos", running, intended).risks]
    user_flags = [flag for flag in flags if flag.rule == "junos.user.change"]
    assert user_flags and all(flag.line.startswith("delete system login user boxen ") for flag in user_flags)
    assert {flag.why for flag in user_flags} == {risk_rules.WHY_LAST_USER}


def test_an_acl_bound_to_vty_in_the_running_config_is_flagged_and_only_that_one() -> None:
    # Given an IOS-XR device whose line default applies ACL MANAGEMENT
    running = _edited(_corpus(XR), "line default\n", "line default\n access-class ingress MANAGEMENT\n")
    start = running.index("ipv4 access-list MANAGEMENT\n")
    entry = running[start:].splitlines()[1] + "\n"
    # When both the bound ACL and another one change
    intended = _edited(running, entry, "")
    intended = _edited(intended, "ipv4 access-list BOSS\n", "ipv4 access-list BOSS2\n")
    flags = _flags("cisco_xr", running, intended)
    # Then the MANAGEMENT section line is flagged, BOSS is not
    assert [(rule, line) for rule, line, _ in flags] == [("xr.acl.bound", "ipv4 access-list MANAGEMENT")]


def test_the_generic_rules_cover_platforms_without_a_family() -> None:
    running = "set service ssh port 22\nset system host-name r1"
    flags = _flags("vyos", running, "set service ssh port 2222\nset system host-name r1")
    assert {rule for rule, _, _ in flags} == {"generic.remote-access"}
    assert _flags("vyos", running, "set service ssh port 22\nset system host-name r2") == []


def test_flags_follow_the_tag_filtered_remediation_and_do_not_change_the_text() -> None:
    running = _corpus(IOS)
    intended = _edited(running, "aaa new-model\n", "")
    intended = _edited(intended, "ntp server 1.1.1.1\n", "ntp server 1.1.1.2\n")
    plain = compute_remediation("cisco_ios", running, intended)
    tagged = RemediationOptions.model_validate(
        {
            "tag_rules": [{"match_rules": [{"startswith": ["ntp", "no ntp"]}], "apply_tags": ["ntp"]}],
            "include_tags": ["ntp"],
        }
    )
    only_ntp = compute_remediation("cisco_ios", running, intended, options=tagged)
    # The AAA line is flagged in the whole remediation, not in the NTP-only one
    assert [flag.rule for flag in plain.risks] == ["ios.aaa.new-model"]
    assert only_ntp.risks == () and only_ntp.remediation == "no ntp server 1.1.1.1\nntp server 1.1.1.2"
    # And the text is hier_config's whether or not there are risks (the fidelity tests check it byte for byte)
    assert plain.remediation is not None and "no aaa new-model" in plain.remediation.splitlines()


def test_compliant_is_an_empty_remediation_even_when_the_outputs_leave_it_out() -> None:
    running = _corpus(IOS)
    diff_only = RemediationOptions(outputs=["diff"])
    same = compute_remediation("cisco_ios", running, running, options=diff_only)
    changed = compute_remediation(
        "cisco_ios", running, _edited(running, "aaa new-model\n", ""), options=diff_only
    )
    assert (same.compliant, same.remediation, same.risks) == (True, None, ())
    assert changed.compliant is False and [flag.line for flag in changed.risks] == ["no aaa new-model"]


# --- user rules and options -------------------------------------------------------------------------------

BGP_RULE = {
    "id": "site.bgp",
    "why": "drops the uplink",
    "match_rules": [{"startswith": "router bgp"}, {"re_search": "^no neighbor "}],
}


def test_a_user_rule_flags_its_lines_on_its_platforms_only() -> None:
    running = _corpus(NXOS)
    intended = _edited(running, "  neighbor 10.10.10.6\n", "  neighbor 10.10.10.7\n")
    mine = RemediationOptions.model_validate({"risk_rules": [BGP_RULE]})
    elsewhere = RemediationOptions.model_validate({"risk_rules": [BGP_RULE | {"platforms": ["cisco_ios"]}]})
    assert _flags("cisco_nxos", running, intended, mine) == [
        ("site.bgp", "no neighbor 10.10.10.6", ["router bgp 65250"])
    ]
    assert _flags("cisco_nxos", running, intended, elsewhere) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"risk_rules": [BGP_RULE | {"match_rules": [{"re_search": "("}]}]},
            "not a valid regular expression",
        ),
        ({"risk_rules": [BGP_RULE, BGP_RULE]}, "gives a rule id more than once"),
        ({"risk_rules": [BGP_RULE | {"id": f"r{n}"} for n in range(101)]}, "at most 100"),
        ({"risk_rules": [BGP_RULE | {"match_rules": []}]}, "at least 1"),
        ({"risk_rules": [BGP_RULE | {"match_rules": [{}]}]}, "set at least one of"),
        ({"risk_rules": [BGP_RULE | {"platforms": ["cisco_iox"]}]}, "cisco_ios"),
        ({"risk_rules": [BGP_RULE | {"id": "has space"}]}, "pattern"),
        ({"risk_rules": [BGP_RULE | {"names_from": "local_users"}]}, "Extra inputs"),
        ({"on_risk": "block"}, "'flag' or 'hold'"),
    ],
)
def test_invalid_risk_options_are_refused_saying_why(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RemediationOptions.model_validate(options)


def test_a_rule_matching_every_line_is_bounded() -> None:
    running = "\n".join(f"ntp server 10.0.{n // 250}.{n % 250}" for n in range(400))
    everything = RemediationOptions.model_validate(
        {"risk_rules": [{"id": "all", "why": "test", "match_rules": [{"re_search": "."}]}]}
    )
    result = compute_remediation("cisco_ios", running, "hostname r1", options=everything)
    assert len(result.risks) == MAX_RISKS_PER_DEVICE


def test_every_built_in_rule_is_valid_data_for_a_known_platform_and_listed_by_the_platforms_route() -> None:
    # Given the built-in rules (their match rules are constructed unvalidated, to keep the import fast)
    # Then each one validates as given, every pattern compiling
    for rule in risk_rules.BUILT_IN_RULES:
        assert RiskRule.model_validate(rule.model_dump()) == rule
    ids = [rule.id for rule in risk_rules.BUILT_IN_RULES]
    assert len(ids) == len(set(ids))
    families = {rule.id.split(".")[0] for rule in risk_rules.BUILT_IN_RULES}
    assert families == {"ios", "nxos", "xr", "eos", "junos", "generic"}
    response = single_device.handler(http_event("GET", "/api/v1/platforms"), context())
    listed = json.loads(response["body"])["risk_rules"]
    assert [rule["id"] for rule in listed] == ids
    vty = next(rule for rule in listed if rule["id"] == "ios.vty.access-class")
    assert vty["platforms"] == ["cisco_ios"] and len(vty["match_rules"]) == 2
    assert next(rule for rule in listed if rule["id"] == "ios.acl.bound")["names_from"] == "access_acls"


# --- on_risk ----------------------------------------------------------------------------------------------


def _risky_device() -> dict[str, str]:
    running = _corpus(IOS)
    return {
        "device_id": "edge1",
        "platform": "cisco_ios",
        "running_config": running,
        "intended_config": _edited(running, "aaa new-model\n", ""),
    }


def test_hold_withholds_the_remediation_of_a_risky_device_on_the_one_device_route() -> None:
    response = single_device.handler(
        http_event("POST", "/api/v1/remediation", body=_risky_device() | {"options": {"on_risk": "hold"}}),
        context(),
    )
    body = json.loads(response["body"])
    assert set(body) == {"device_id", "status", "compliant", "risks", "message"}
    assert (body["status"], body["compliant"]) == ("held", False)
    assert [risk["line"] for risk in body["risks"]] == ["no aaa new-model"]
    assert "withheld" in body["message"] and "on_risk 'flag'" in body["message"]


def test_flag_is_the_default_and_a_device_without_risks_is_not_held(aws: dict[str, Any]) -> None:
    device = _risky_device()
    flagged = single_device.handler(http_event("POST", "/api/v1/remediation", body=device), context())
    body = json.loads(flagged["body"])
    assert body["status"] == "success" and "no aaa new-model" in body["remediation"]
    assert body["risks"][0]["rule"] == "ios.aaa.new-model"
    # The worker: hold only where there are risks
    calm = device | {"intended_config": _edited(device["running_config"], "ntp master\n", "")}
    message = DeviceMessage.model_validate(
        {
            "job_id": "j1",
            "options": {"on_risk": "hold"},
            "devices": [
                {
                    "device_id": "edge1",
                    "payload": {
                        key: device[key] for key in ("platform", "running_config", "intended_config")
                    },
                },
                {
                    "device_id": "calm",
                    "payload": {key: calm[key] for key in ("platform", "running_config", "intended_config")},
                },
            ],
        }
    )
    held, computed = (remediate_device(load_settings(), message, queued) for queued in message.devices)
    assert (held.status, held.compliant, held.remediation, held.rollback) == ("held", False, None, None)
    assert held.risks is not None and [risk.line for risk in held.risks] == ["no aaa new-model"]
    assert (computed.status, computed.compliant, computed.risks) == ("success", False, [])
    assert computed.remediation == "no ntp master"


def test_an_interface_in_the_management_vrf_is_the_management_interface_and_its_routes_are_risky() -> None:
    # Given the CSR's GigabitEthernet1 in the Mgmt-intf VRF, as IOS-XE routers ship it
    running = _edited(
        _corpus(IOS_XE),
        "interface GigabitEthernet1\n ip address",
        "interface GigabitEthernet1\n vrf forwarding Mgmt-intf\n ip address",
    )
    # When its address changes, a default route is added in the VRF, and GigabitEthernet2 is enabled
    intended = _edited(
        running, " ip address 10.0.0.15 255.255.255.0\n", " ip address 10.0.0.16 255.255.255.0\n"
    )
    intended = _edited(
        intended, "control-plane\n", "ip route vrf Mgmt-intf 0.0.0.0 0.0.0.0 10.0.0.1\ncontrol-plane\n"
    )
    intended = _edited(
        intended,
        "interface GigabitEthernet2\n no ip address\n shutdown\n",
        "interface GigabitEthernet2\n no ip address\n",
    )
    flags = _flags("cisco_ios", running, intended)
    # Then the management interface's address and the VRF's route are flagged; GigabitEthernet2 is not
    assert (
        "ios.mgmt-interface.change",
        "ip address 10.0.0.16 255.255.255.0",
        ["interface GigabitEthernet1"],
    ) in flags
    assert ("ios.mgmt-vrf.route", "ip route vrf Mgmt-intf 0.0.0.0 0.0.0.0 10.0.0.1", []) in flags
    assert not [flag for flag in flags if "GigabitEthernet2" in flag[2]]
