"""The CKAN Action API and DCAT against a running demo server, with the real clients.

`ckanapi` (4.11) as a library, in its POST mode (JSON bodies, the default) and its GET mode
(`get_only=True`: query parameters, so objects go as JSON strings and booleans as "True"),
and as the command line (`ckanapi action`, `search datasets`, `dump datasets`); `rdflib`
parses the DCAT catalogue in Turtle and JSON-LD.

Writes use the demo publisher (`publisher` / `cityhall-demo`, agency SOXAYDUNG, organization
`soxaydung`; override with CITYHALL_CKAN_USER / CITYHALL_CKAN_PASSWORD), whose API token is
sent the way ckanapi sends it (`Authorization: KEY` and `X-CKAN-API-Key: KEY`). Every test
makes its own datasets under fresh names, so the file runs again and again against one
server, in any order.
"""

import csv
import io
import json
import os
import re
import struct
import subprocess
import sys
import time
import unicodedata
import uuid
import zlib

import openpyxl
import pytest
import requests
from ckanapi import (
    CKANAPIError,
    NotAuthorized,
    NotFound,
    RemoteCKAN,
    SearchQueryError,
    ValidationError,
)
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import graph_diff, to_isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF

BASE = os.environ.get("CITYHALL_URL", "http://127.0.0.1:8080").rstrip("/")
USER = os.environ.get("CITYHALL_CKAN_USER", "publisher")
PASSWORD = os.environ.get("CITYHALL_CKAN_PASSWORD", "cityhall-demo")
ORG = "soxaydung"
OTHER_ORG = "sonoivu"
BUS = "tuyen-xe-buyt-mau"
WARDS = "danh-sach-phuong-xa"
STATISTICS = ["thong-ke-ho-so-thu-tuc-hanh-chinh", "thong-ke-phan-anh-kien-nghi"]
SAMPLE_TAG = "dữ liệu mẫu"
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
TIMEOUT = 60


def unique(prefix="interop"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def demo_settled():
    """The demo's two statistics datasets are published by a background job a few seconds
    after the server starts; wait for them, so that no dataset appears in the middle of a
    test that compares two listings."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = requests.get(f"{BASE}/api/action/package_list", timeout=TIMEOUT)
        if r.ok and set(STATISTICS) <= set(r.json()["result"]):
            return
        time.sleep(0.5)


@pytest.fixture(scope="module")
def key():
    r = requests.post(
        f"{BASE}/api/v1/auth/token",
        json={"username": USER, "password": PASSWORD, "name": unique("ckanapi-interop")},
        timeout=TIMEOUT,
    )
    assert r.status_code == 201, r.text
    return r.json()["token"]


@pytest.fixture(scope="module")
def pub(key):
    with RemoteCKAN(BASE, apikey=key) as c:
        yield c


@pytest.fixture(scope="module")
def pub_get(key):
    with RemoteCKAN(BASE, apikey=key, get_only=True) as c:
        yield c


@pytest.fixture(scope="module", params=["post", "get"])
def ckan(request):
    """An anonymous client, in ckanapi's POST mode and in its GET mode."""
    with RemoteCKAN(BASE, get_only=request.param == "get") as c:
        yield c


@pytest.fixture(scope="module")
def anon():
    with RemoteCKAN(BASE) as c:
        yield c


def as_param(ckan, value):
    """An object or a list as a parameter: itself in a JSON body, a JSON string in a GET."""
    return json.dumps(value, ensure_ascii=False) if ckan.get_only else value


def new_dataset(pub, **extra):
    name = unique()
    fields = dict(
        name=name,
        title=f"Bộ dữ liệu kiểm thử liên thông {name}",
        notes="Tạo bởi bộ kiểm thử liên thông ckanapi.",
        owner_org=ORG,
        license_id="cc-by-4.0",
        tags=[{"name": "kiểm thử"}, {"name": name}],
    )
    fields.update(extra)
    return pub.action.package_create(**fields)


def bus_resource_id(anon):
    return anon.action.package_show(id=BUS)["resources"][0]["id"]


def all_public(anon):
    """Every public dataset (package_search pages of 1000)."""
    out, start = [], 0
    while True:
        page = anon.action.package_search(q="*:*", rows=1000, start=start)
        out += page["results"]
        if not page["results"]:
            return out, page["count"]
        start += len(page["results"])


def write_file(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def tiny_png():
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def cp1258(text):
    """Vietnamese text in Windows-1258 as old Windows software writes it: precomposed base
    letters (â, ơ, đ…) where the code page has them, tone marks as combining characters."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        marks = "".join(c for c in parts if c in tones)
        out += (base + marks).encode("cp1258")
    return bytes(out)


# ---------------------------------------------------------------- site


def test_status_show_and_site_read(ckan):
    s = ckan.action.status_show()
    assert s["ckan_version"].startswith("2.")
    assert s["site_title"]
    assert s["locale_default"] == "vi"
    assert s["site_url"].startswith("http")
    assert "datastore" in s["extensions"]
    assert ckan.action.site_read() is True


def test_versioned_path_and_envelope():
    r = requests.get(f"{BASE}/api/3/action/package_show", params={"id": BUS}, timeout=TIMEOUT)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["help"].endswith("/api/3/action/help_show?name=package_show")
    assert body["result"]["name"] == BUS


def test_unknown_action_is_a_plain_ckanapi_error(ckan):
    with pytest.raises(CKANAPIError) as e:
        ckan.call_action("no_such_action_here", {})
    assert not isinstance(e.value, (NotFound, ValidationError, NotAuthorized))
    assert "no_such_action_here" in str(e.value)


# ---------------------------------------------------------------- datasets


def test_package_list_holds_the_demo_datasets(ckan):
    names = ckan.action.package_list()
    assert names == sorted(names)
    for n in [BUS, WARDS, *STATISTICS]:
        assert n in names
    assert len(names) >= 8
    assert ckan.action.package_list(limit=2, offset=1) == names[1:3]


def test_package_show_by_name_and_by_id(ckan):
    by_name = ckan.action.package_show(id=BUS)
    assert by_name["name"] == BUS
    assert by_name["title"] == "Tuyến xe buýt (mẫu)"
    assert by_name["organization"]["name"] == ORG
    assert by_name["num_resources"] == len(by_name["resources"]) >= 1
    assert SAMPLE_TAG in [t["name"] for t in by_name["tags"]]
    by_id = ckan.action.package_show(id=by_name["id"])
    assert by_id["name"] == BUS
    assert by_id["id"] == by_name["id"]
    assert by_id["resources"] == by_name["resources"]


def test_search_q_with_and_without_diacritics(ckan):
    for q in ["xe buýt", "xe buyt", "XE BUYT"]:
        res = ckan.action.package_search(q=q)
        names = [r["name"] for r in res["results"]]
        assert BUS in names, (q, names)
        assert res["count"] >= 1
    assert ckan.action.package_search(q=unique("khong-co-tu-nay"))["count"] == 0


def test_search_fq_organization_tags_and_format(ckan):
    org = ckan.action.package_search(fq=f"organization:{ORG}", rows=1000)
    assert org["count"] >= 1
    assert BUS in [r["name"] for r in org["results"]]
    assert all(r["organization"]["name"] == ORG for r in org["results"])

    tagged = ckan.action.package_search(fq=f'tags:"{SAMPLE_TAG}"', rows=1000)
    assert BUS in [r["name"] for r in tagged["results"]]
    for r in tagged["results"]:
        assert SAMPLE_TAG in [t["name"] for t in r["tags"]]

    csvs = ckan.action.package_search(fq="res_format:CSV", rows=1000)
    assert BUS in [r["name"] for r in csvs["results"]]
    for r in csvs["results"]:
        assert "CSV" in [x["format"] for x in r["resources"]]

    both = ckan.action.package_search(fq=f'organization:{ORG} tags:"{SAMPLE_TAG}"', rows=1000)
    assert {r["name"] for r in both["results"]} <= {r["name"] for r in org["results"]}
    assert BUS in [r["name"] for r in both["results"]]
    none = ckan.action.package_search(fq=f"organization:{OTHER_ORG} tags:\"xe buýt\"")
    assert none["count"] == 0 and none["results"] == []


def test_search_paging_and_out_of_range_start(ckan):
    full = ckan.action.package_search(sort="name asc", rows=1000)
    n = full["count"]
    assert n == len(full["results"]) >= 8
    names = [r["name"] for r in full["results"]]
    first = ckan.action.package_search(sort="name asc", rows=3, start=0)
    second = ckan.action.package_search(sort="name asc", rows=3, start=3)
    assert first["count"] == second["count"] == n
    assert [r["name"] for r in first["results"]] == names[:3]
    assert [r["name"] for r in second["results"]] == names[3:6]
    beyond = ckan.action.package_search(sort="name asc", rows=5, start=n + 50)
    assert beyond["results"] == []
    assert beyond["count"] == n
    assert ckan.action.package_search(rows=0)["results"] == []


def test_search_sort(ckan):
    asc = [r["name"] for r in ckan.action.package_search(sort="name asc", rows=1000)["results"]]
    desc = [r["name"] for r in ckan.action.package_search(sort="name desc", rows=1000)["results"]]
    assert asc == sorted(asc)
    assert desc == list(reversed(asc))
    newest = ckan.action.package_search(sort="metadata_modified desc", rows=1000)["results"]
    stamps = [r["metadata_modified"] for r in newest]
    assert stamps == sorted(stamps, reverse=True)


def test_search_facets(ckan):
    res = ckan.action.package_search(
        fq=f"organization:{ORG}",
        rows=0,
        **{"facet.field": as_param(ckan, ["organization", "tags", "res_format"])},
    )
    assert set(res["facets"]) == {"organization", "tags", "res_format"}
    assert res["facets"]["organization"] == {ORG: res["count"]}
    assert res["facets"]["tags"][SAMPLE_TAG] >= 1
    assert res["facets"]["res_format"]["CSV"] >= 1
    sf = res["search_facets"]
    assert set(sf) == set(res["facets"])
    org_items = sf["organization"]["items"]
    assert org_items == [
        {"name": ORG, "display_name": "Sở Xây dựng", "count": res["count"]}
    ]
    for field, counts in res["facets"].items():
        assert {i["name"]: i["count"] for i in sf[field]["items"]} == counts
        assert sf[field]["title"]


def test_search_facet_field_as_a_plain_list(ckan):
    # A list as such: a JSON array in a POST, the key repeated in a GET.
    res = ckan.action.package_search(rows=0, **{"facet.field": ["organization", "groups"]})
    assert set(res["facets"]) == {"organization", "groups"}
    assert res["facets"]["groups"]["giao-thong"] >= 1
    assert sum(res["facets"]["organization"].values()) == res["count"]


def test_search_facet_field_as_a_json_string(ckan):
    # What CKAN's own docs and most scripts send: facet.field='["tags"]'.
    res = ckan.action.package_search(rows=0, **{"facet.field": '["tags"]'})
    assert list(res["facets"]) == ["tags"]
    assert res["facets"]["tags"][SAMPLE_TAG] >= 1


def test_organizations(ckan):
    names = ckan.action.organization_list()
    assert ORG in names and OTHER_ORG in names
    full = ckan.action.organization_list(all_fields=True)
    by_name = {o["name"]: o for o in full}
    assert set(by_name) == set(names)
    assert by_name[ORG]["title"] == "Sở Xây dựng"
    assert by_name[ORG]["is_organization"] is True
    public_org = ckan.action.package_search(fq=f"organization:{ORG}", rows=0)["count"]
    assert by_name[ORG]["package_count"] == public_org
    org = ckan.action.organization_show(id=ORG)
    assert org["name"] == ORG and org["id"] == by_name[ORG]["id"]
    assert ckan.action.organization_show(id=org["id"])["name"] == ORG
    with_ds = ckan.action.organization_show(id=ORG, include_datasets=True)
    assert BUS in [p["name"] for p in with_ds["packages"]]


def test_groups(ckan):
    names = ckan.action.group_list()
    assert "giao-thong" in names
    g = ckan.action.group_show(id="giao-thong", include_datasets=True)
    assert g["name"] == "giao-thong"
    assert g["title"] == "Giao thông"
    assert BUS in [p["name"] for p in g["packages"]]
    assert g["package_count"] >= 1
    full = ckan.action.group_list(all_fields=True)
    assert "giao-thong" in [x["name"] for x in full]


def test_tags_and_licences(ckan):
    tags = ckan.action.tag_list()
    assert SAMPLE_TAG in tags and "xe buýt" in tags
    assert "xe buýt" in ckan.action.tag_list(query="buyt")
    licences = ckan.action.license_list()
    ids = [x["id"] for x in licences]
    assert "cc-by-4.0" in ids
    for x in licences:
        assert x["title"] and "url" in x


def test_resource_show(ckan):
    pkg = ckan.action.package_show(id=BUS)
    res = pkg["resources"][0]
    shown = ckan.action.resource_show(id=res["id"])
    assert shown["id"] == res["id"]
    assert shown["package_id"] == pkg["id"]
    assert shown["format"] == "CSV"
    assert shown["datastore_active"] is True
    download = requests.get(shown["url"], timeout=TIMEOUT)
    assert download.status_code == 200
    assert "so_tuyen" in download.content.decode("utf-8-sig").splitlines()[0]


# ---------------------------------------------------------------- datastore


def test_datastore_fields_and_types(ckan):
    rid = bus_resource_id(ckan)
    ds = ckan.action.datastore_search(resource_id=rid)
    fields = {f["id"]: f["type"] for f in ds["fields"]}
    assert ds["fields"][0] == {"id": "_id", "type": "int"}
    for col in ["so_tuyen", "diem_dau", "diem_cuoi", "gio_bat_dau", "gio_ket_thuc"]:
        assert fields[col] == "text"
    assert fields["gian_cach_phut"] == "int"
    assert fields["gia_ve_dong"] == "int"
    assert ds["total"] == len(ds["records"]) >= 3
    r0 = ds["records"][0]
    assert isinstance(r0["gia_ve_dong"], int) and isinstance(r0["so_tuyen"], str)
    assert ds["_links"]["start"] and ds["_links"]["next"]


def test_datastore_filters(ckan):
    rid = bus_resource_id(ckan)
    one = ckan.action.datastore_search(resource_id=rid, filters=as_param(ckan, {"so_tuyen": "01"}))
    assert [r["so_tuyen"] for r in one["records"]] == ["01"]
    assert one["total"] == 1
    two = ckan.action.datastore_search(
        resource_id=rid, filters=as_param(ckan, {"so_tuyen": ["01", "03"]})
    )
    assert sorted(r["so_tuyen"] for r in two["records"]) == ["01", "03"]
    by_int = ckan.action.datastore_search(
        resource_id=rid, filters=as_param(ckan, {"gian_cach_phut": 10})
    )
    assert by_int["records"] and all(r["gian_cach_phut"] == 10 for r in by_int["records"])
    # The `id` alias of resource_id.
    assert ckan.action.datastore_search(id=rid, limit=1)["records"]


def test_datastore_q_with_and_without_diacritics(ckan):
    rid = bus_resource_id(ckan)
    for q in ["Chợ Lớn", "cho lon"]:
        hits = ckan.action.datastore_search(resource_id=rid, q=q)["records"]
        # Routes 01 and 56 run to "Bến xe Chợ Lớn"; words may match as prefixes
        # (as CKAN's full-text search does), so "Chợ Long Phước" may come too.
        assert {"01", "56"} <= {r["so_tuyen"] for r in hits}, q
        assert all("Chợ L" in json.dumps(r, ensure_ascii=False) for r in hits), q
    assert ckan.action.datastore_search(resource_id=rid, q=unique("khong"))["records"] == []


def test_datastore_limit_offset_total(ckan):
    rid = ckan.action.package_show(id=WARDS)["resources"][0]["id"]
    first = ckan.action.datastore_search(resource_id=rid, limit=50, sort="_id asc")
    assert first["total"] == 168
    assert len(first["records"]) == 50
    assert first["limit"] == 50 and first["offset"] == 0
    last = ckan.action.datastore_search(resource_id=rid, limit=50, offset=150, sort="_id asc")
    assert len(last["records"]) == 18
    assert [r["_id"] for r in last["records"]] == list(range(151, 169))
    assert ckan.action.datastore_search(resource_id=rid, offset=500)["records"] == []
    no_total = ckan.action.datastore_search(
        resource_id=rid, limit=1, include_total=False
    )
    assert "total" not in no_total
    assert len(no_total["records"]) == 1
    zero = ckan.action.datastore_search(resource_id=rid, limit=0)
    assert zero["records"] == [] and zero["total"] == 168 and len(zero["fields"]) > 1


def test_datastore_fields_and_sort(ckan):
    rid = bus_resource_id(ckan)
    ds = ckan.action.datastore_search(
        resource_id=rid,
        fields=as_param(ckan, ["so_tuyen", "gian_cach_phut"]),
        sort="gian_cach_phut desc, so_tuyen asc",
    )
    assert [f["id"] for f in ds["fields"]] == ["so_tuyen", "gian_cach_phut"]
    assert all(set(r) == {"so_tuyen", "gian_cach_phut"} for r in ds["records"])
    keys = [(-r["gian_cach_phut"], r["so_tuyen"]) for r in ds["records"]]
    assert keys == sorted(keys)
    # A comma-separated string is what CKAN documents for fields, too.
    plain = ckan.action.datastore_search(resource_id=rid, fields="so_tuyen,gia_ve_dong", limit=2)
    assert [f["id"] for f in plain["fields"]] == ["so_tuyen", "gia_ve_dong"]


def test_datastore_records_formats(ckan):
    rid = bus_resource_id(ckan)
    objects = ckan.action.datastore_search(resource_id=rid, sort="_id asc")
    names = [f["id"] for f in objects["fields"]]
    lists = ckan.action.datastore_search(resource_id=rid, sort="_id asc", records_format="lists")
    assert lists["records_format"] == "lists"
    assert lists["records"] == [[r[n] for n in names] for r in objects["records"]]
    text = ckan.action.datastore_search(resource_id=rid, sort="_id asc", records_format="csv")
    assert isinstance(text["records"], str)
    rows = list(csv.reader(io.StringIO(text["records"])))
    assert len(rows) == len(objects["records"])
    assert rows[0] == ["" if v is None else str(v) for v in lists["records"][0]]
    tsv = ckan.action.datastore_search(resource_id=rid, sort="_id asc", records_format="tsv")
    assert list(csv.reader(io.StringIO(tsv["records"]), delimiter="\t")) == rows


# ---------------------------------------------------------------- errors


def test_not_found(ckan):
    with pytest.raises(NotFound):
        ckan.action.package_show(id=unique("khong-co"))
    with pytest.raises(NotFound):
        ckan.action.resource_show(id=str(uuid.uuid4()))
    with pytest.raises(NotFound):
        ckan.action.datastore_search(resource_id=str(uuid.uuid4()))
    with pytest.raises(NotFound):
        ckan.action.organization_show(id=unique("khong-co"))
    with pytest.raises(NotFound):
        ckan.action.group_show(id=unique("khong-co"))


def test_validation_error_on_bad_datastore_column(ckan):
    rid = bus_resource_id(ckan)
    with pytest.raises(ValidationError) as e:
        ckan.action.datastore_search(resource_id=rid, filters=as_param(ckan, {"no_such": "x"}))
    assert "no_such" in " ".join(e.value.error_dict["filters"])
    with pytest.raises(ValidationError) as e:
        ckan.action.datastore_search(resource_id=rid, sort="no_such asc")
    assert "sort" in e.value.error_dict
    with pytest.raises(ValidationError) as e:
        ckan.action.datastore_search(resource_id=rid, fields=as_param(ckan, ["no_such"]))
    assert "fields" in e.value.error_dict
    with pytest.raises(ValidationError) as e:
        ckan.action.datastore_search(resource_id=rid, limit=-1)
    assert "limit" in e.value.error_dict


def test_search_query_error_for_unparseable_fq(ckan):
    with pytest.raises(SearchQueryError) as e:
        ckan.action.package_search(fq='tags:"dữ liệu mẫu')
    assert str(e.value)


def test_malformed_sort(ckan):
    # ckanapi keeps only what follows the first ": " of the message (CKAN's own messages
    # start "Search Query is invalid: "), so the useful part must survive that.
    for sort, says in [("name sideways", "sideways"), ("no_such_key asc", "no_such_key"),
                       ("name", "name asc")]:
        with pytest.raises(SearchQueryError) as e:
            ckan.action.package_search(sort=sort)
        assert says in str(e.value), (sort, str(e.value))


def test_search_rows_out_of_range(ckan):
    with pytest.raises(ValidationError) as e:
        ckan.action.package_search(rows=-1)
    assert "rows" in e.value.error_dict


def test_write_without_key_is_not_authorized(anon):
    with pytest.raises(NotAuthorized):
        anon.action.package_create(name=unique(), title="Không có khóa", owner_org=ORG)
    with pytest.raises(NotAuthorized):
        anon.action.package_patch(id=BUS, title="Đổi tên")
    assert anon.action.package_show(id=BUS)["title"] == "Tuyến xe buýt (mẫu)"


def test_wrong_key_is_not_authorized():
    with RemoteCKAN(BASE, apikey="not-a-real-key-" + uuid.uuid4().hex) as bad:
        with pytest.raises(NotAuthorized):
            bad.action.package_create(name=unique(), title="Khóa sai", owner_org=ORG)


def test_publisher_cannot_write_to_another_agency(pub, anon):
    name = unique()
    with pytest.raises(NotAuthorized):
        pub.action.package_create(name=name, title="Không phải của tôi", owner_org=OTHER_ORG)
    with pytest.raises(NotFound):
        anon.action.package_show(id=name)
    with pytest.raises(NotAuthorized):
        pub.action.package_patch(id=WARDS, title="Đổi tên")
    assert anon.action.package_show(id=WARDS)["title"] != "Đổi tên"
    wards_resource = anon.action.package_show(id=WARDS)["resources"][0]["id"]
    with pytest.raises(NotAuthorized):
        pub.action.resource_create(package_id=WARDS, url="https://example.org/x.csv")
    with pytest.raises(NotAuthorized):
        pub.action.resource_delete(id=wards_resource)
    with pytest.raises(NotAuthorized):
        pub.action.package_delete(id=WARDS)
    # And moving one of his own datasets there.
    mine = new_dataset(pub)
    with pytest.raises(NotAuthorized):
        pub.action.package_patch(id=mine["id"], owner_org=OTHER_ORG)
    assert anon.action.package_show(id=mine["id"])["organization"]["name"] == ORG


def test_package_create_validation(pub, anon):
    with pytest.raises(ValidationError) as e:
        pub.action.package_create(name=BUS, title="Tên đã có", owner_org=ORG)
    assert "name" in e.value.error_dict
    assert e.value.error_dict["__type"] == "Validation Error"
    for bad in ["Tên Có Dấu", "a", "UPPER-case", "x" * 101]:
        with pytest.raises(ValidationError) as e:
            pub.action.package_create(name=bad, title="Tên sai", owner_org=ORG)
        assert "name" in e.value.error_dict, bad
    with pytest.raises(ValidationError) as e:
        pub.action.package_create(title="Thiếu tên", owner_org=ORG)
    assert "name" in e.value.error_dict
    name = unique()
    with pytest.raises(ValidationError) as e:
        pub.action.package_create(name=name, title="Giấy phép lạ", owner_org=ORG,
                                  license_id="no-such-licence")
    assert "license_id" in e.value.error_dict
    with pytest.raises(NotFound):
        anon.action.package_show(id=name)


# ---------------------------------------------------------------- publisher writes


def test_package_create_patch_update(pub, anon):
    name = unique()
    created = pub.action.package_create(
        name=name,
        title=f"Điểm thu gom rác {name}",
        notes="Danh sách điểm thu gom rác thải sinh hoạt.",
        owner_org=ORG,
        license_id="cc-by-4.0",
        tags=[{"name": "môi trường"}, {"name": "rác thải"}],
        groups=[{"name": "moi-truong"}],
        extras=[
            {"key": "frequency", "value": "monthly"},
            {"key": "spatial_text", "value": "Phường Sài Gòn"},
        ],
        maintainer="Phòng Hạ tầng",
        maintainer_email="hatang@example.invalid",
    )
    assert created["name"] == name
    assert created["organization"]["name"] == ORG
    assert sorted(t["name"] for t in created["tags"]) == ["môi trường", "rác thải"]
    assert [g["name"] for g in created["groups"]] == ["moi-truong"]
    extras = {x["key"]: x["value"] for x in created["extras"]}
    assert extras["frequency"] == "monthly"
    assert extras["spatial_text"] == "Phường Sài Gòn"

    shown = anon.action.package_show(id=name)
    assert shown["id"] == created["id"]
    assert shown["title"] == f"Điểm thu gom rác {name}"
    assert name in anon.action.package_list()
    found = anon.action.package_search(q="thu gom rac", fq=f'tags:"rác thải"', rows=1000)
    assert name in [r["name"] for r in found["results"]]

    patched = pub.action.package_patch(id=created["id"], title=f"Điểm thu gom rác (mới) {name}")
    assert patched["title"] == f"Điểm thu gom rác (mới) {name}"
    assert sorted(t["name"] for t in patched["tags"]) == ["môi trường", "rác thải"]
    assert patched["notes"] == "Danh sách điểm thu gom rác thải sinh hoạt."
    assert patched["maintainer_email"] == "hatang@example.invalid"
    assert patched["groups"] == created["groups"]
    assert anon.action.package_show(id=name)["title"] == patched["title"]


def test_package_update_round_trip(pub, anon):
    """The way CKAN documents (and `ckanapi load` does): package_show, change fields of the
    dict, package_update with the whole dict back."""
    mine = new_dataset(pub, tags=[{"name": "môi trường"}, {"name": "rác thải"}])
    full = anon.action.package_show(id=mine["id"])
    full["title"] = f"Tiêu đề đã sửa {mine['name']}"
    full["notes"] = "Đã cập nhật."
    full["tags"] = [{"name": "rác thải"}]
    updated = pub.action.package_update(**full)
    assert [t["name"] for t in updated["tags"]] == ["rác thải"]
    assert updated["title"] == f"Tiêu đề đã sửa {mine['name']}"
    assert updated["notes"] == "Đã cập nhật."
    shown = anon.action.package_show(id=mine["id"])
    assert shown["title"] == updated["title"] and shown["notes"] == "Đã cập nhật."
    # Not found by the removed tag any more.
    gone = anon.action.package_search(fq=f'tags:"môi trường" name:{mine["name"]}', rows=1000)
    assert gone["count"] == 0
    # The translated fields, as package_show gives them, are honoured too.
    full = anon.action.package_show(id=mine["id"])
    full["title_translated"] = {"vi": "Tiêu đề tiếng Việt", "en": "English title"}
    full.pop("title")
    again = pub.action.package_update(**full)
    assert again["title"] == "Tiêu đề tiếng Việt"
    assert again["title_translated"]["en"] == "English title"


def test_free_form_extras_are_kept_or_refused(pub, anon):
    """CKAN keeps any extra key (ckanapi `load datasets` copies them from other portals);
    dropping one silently loses data."""
    name = unique()
    try:
        created = pub.action.package_create(
            name=name, title="Extras tự do", owner_org=ORG,
            extras=[{"key": "nguon_du_lieu", "value": "Sở Xây dựng"}],
        )
    except ValidationError as e:
        assert "extras" in getattr(e, "error_dict", {}) or "nguon_du_lieu" in str(e)
        with pytest.raises(NotFound):
            anon.action.package_show(id=name)
        return
    extras = {x["key"]: x["value"] for x in created["extras"]}
    assert extras.get("nguon_du_lieu") == "Sở Xây dựng", created["extras"]


def test_private_dataset_stays_private(pub, anon):
    mine = new_dataset(pub, private=True)
    assert mine["private"] is True
    assert mine["name"] not in anon.action.package_list()
    assert anon.action.package_search(fq=f"name:{mine['name']}")["count"] == 0
    with pytest.raises((NotAuthorized, NotFound)):
        anon.action.package_show(id=mine["id"])
    assert pub.action.package_show(id=mine["id"])["name"] == mine["name"]
    # include_private shows it to its publisher only.
    assert pub.action.package_search(fq=f"name:{mine['name']}", include_private=True)[
        "count"] == 1
    assert anon.action.package_search(fq=f"name:{mine['name']}", include_private=True)[
        "count"] == 0
    res = pub.action.resource_create(
        package_id=mine["id"], upload=("riêng.csv", io.BytesIO("a,b\n1,2\n".encode()))
    )
    assert pub.action.datastore_search(resource_id=res["id"])["records"] == [
        {"_id": 1, "a": 1, "b": 2}
    ]
    with pytest.raises((NotAuthorized, NotFound)):
        anon.action.datastore_search(resource_id=res["id"])
    with pytest.raises((NotAuthorized, NotFound)):
        anon.action.resource_show(id=res["id"])


def test_package_delete(pub, anon):
    mine = new_dataset(pub)
    assert pub.action.package_delete(id=mine["id"]) is None
    assert mine["name"] not in anon.action.package_list()
    with pytest.raises(NotFound):
        anon.action.package_show(id=mine["name"])


def test_resource_create_csv_upload_and_datastore(pub, anon, tmp_path):
    mine = new_dataset(pub)
    path = write_file(
        tmp_path,
        "diem-thu-gom.csv",
        "ten,phuong,suc_chua_tan,ghi_chu\n"
        "Điểm Lê Lợi,Sài Gòn,12,\n"
        "Điểm Chợ Lớn,Chợ Lớn,7,mở đêm\n"
        'Điểm Thủ Đức,"Thủ Đức, Linh Xuân",30,"có ""mái che"""\n'.encode("utf-8"),
    )
    with open(path, "rb") as f:
        res = pub.action.resource_create(
            package_id=mine["id"], name="Điểm thu gom", format="CSV", upload=f
        )
    assert res["package_id"] == mine["id"]
    assert res["format"] == "CSV"
    assert res["datastore_active"] is True
    assert res["url"].startswith("http")
    assert requests.get(res["url"], timeout=TIMEOUT).content == path.read_bytes()
    ds = anon.action.datastore_search(resource_id=res["id"], sort="_id asc")
    types = {f["id"]: f["type"] for f in ds["fields"]}
    assert types == {"_id": "int", "ten": "text", "phuong": "text", "suc_chua_tan": "int",
                     "ghi_chu": "text"}
    assert ds["total"] == 3
    assert [r["suc_chua_tan"] for r in ds["records"]] == [12, 7, 30]
    assert all(isinstance(r["suc_chua_tan"], int) for r in ds["records"])
    assert ds["records"][2]["phuong"] == "Thủ Đức, Linh Xuân"
    assert ds["records"][2]["ghi_chu"] == 'có "mái che"'
    assert ds["records"][0]["ghi_chu"] in (None, "")
    shown = anon.action.package_show(id=mine["id"])
    assert [r["id"] for r in shown["resources"]] == [res["id"]]
    assert "CSV" in [r["format"] for r in shown["resources"]]
    assert mine["name"] in [
        r["name"] for r in anon.action.package_search(fq="res_format:CSV", rows=1000)["results"]
    ]
    # A link resource, too.
    link = pub.action.resource_create(
        package_id=mine["id"], name="Bản đồ", url="https://example.org/ban-do.html"
    )
    assert link["url"] == "https://example.org/ban-do.html"
    assert anon.action.package_show(id=mine["id"])["num_resources"] == 2
    pub.action.resource_delete(id=link["id"])
    assert anon.action.package_show(id=mine["id"])["num_resources"] == 1


def test_ragged_csv_is_refused_and_nothing_is_written(pub, anon, tmp_path):
    mine = new_dataset(pub)
    before = anon.action.package_show(id=mine["id"])
    path = write_file(
        tmp_path, "le-dong.csv", b"ma,ten,so\n1,Mot,10\n2,Hai\n3,Ba,30\n"
    )
    with open(path, "rb") as f, pytest.raises(ValidationError) as e:
        pub.action.resource_create(package_id=mine["id"], upload=f)
    message = " ".join(e.value.error_dict["upload"])
    # Line 3 of the file (the second data row) has 2 cells where the header has 3.
    assert re.search(r"\b3\b", message), message
    assert re.search(r"\b2\b", message), message
    after = anon.action.package_show(id=mine["id"])
    assert after["resources"] == before["resources"] == []
    assert after["num_resources"] == 0
    assert after["metadata_modified"] == before["metadata_modified"]


def test_windows_1258_csv_needs_its_encoding(pub, anon, tmp_path):
    mine = new_dataset(pub)
    text = (
        "phuong,dia_chi,so_ho\n"
        "Bến Thành,Số 1 đường Lê Lợi,120\n"
        "Chợ Lớn,Hẻm 45 Nguyễn Trãi,85\n"
        "Thủ Đức,Khu phố Mỹ Hòa,230\n"
    )
    data = cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    path = write_file(tmp_path, "ho-dan-1258.csv", data)
    with open(path, "rb") as f, pytest.raises(ValidationError) as e:
        pub.action.resource_create(package_id=mine["id"], upload=f)
    message = " ".join(e.value.error_dict["upload"])
    assert "Windows-1258" in message, message
    assert anon.action.package_show(id=mine["id"])["resources"] == []

    with open(path, "rb") as f:
        res = pub.action.resource_create(package_id=mine["id"], upload=f, encoding="windows-1258")
    assert res["datastore_active"] is True
    ds = anon.action.datastore_search(resource_id=res["id"], sort="_id asc")
    expected = list(csv.DictReader(io.StringIO(text)))
    got = [{k: v for k, v in r.items() if k != "_id"} for r in ds["records"]]
    assert [r["phuong"] for r in got] == [r["phuong"] for r in expected]
    assert [r["dia_chi"] for r in got] == [r["dia_chi"] for r in expected]
    # Stored as composed (NFC) text, the way it is typed, so it can be found.
    assert all(unicodedata.is_normalized("NFC", r["dia_chi"]) for r in got)
    assert [r["so_ho"] for r in got] == [120, 85, 230]
    hits = anon.action.datastore_search(resource_id=res["id"], filters={"phuong": "Thủ Đức"})
    assert [r["so_ho"] for r in hits["records"]] == [230]


def test_xlsx_upload_loads(pub, anon, tmp_path):
    mine = new_dataset(pub)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Trường học"
    ws.append(["ten_truong", "phuong", "so_hoc_sinh", "diem_chuan"])
    ws.append(["THPT Lê Quý Đôn", "Xuân Hòa", 1450, 22.5])
    ws.append(["THPT Nguyễn Thị Minh Khai", "Xuân Hòa", 1820, 24.25])
    ws.append(["THCS Trần Văn Ơn", "Tân Định", 960, 21])
    path = tmp_path / "truong-hoc.xlsx"
    wb.save(path)
    with open(path, "rb") as f:
        res = pub.action.resource_create(package_id=mine["id"], name="Trường học", upload=f)
    assert res["format"] == "XLSX"
    assert res["datastore_active"] is True
    ds = anon.action.datastore_search(resource_id=res["id"], sort="_id asc")
    types = {f["id"]: f["type"] for f in ds["fields"]}
    assert types["ten_truong"] == "text"
    assert types["so_hoc_sinh"] == "int"
    assert types["diem_chuan"] == "numeric"
    assert [r["ten_truong"] for r in ds["records"]] == [
        "THPT Lê Quý Đôn", "THPT Nguyễn Thị Minh Khai", "THCS Trần Văn Ơn"
    ]
    assert [r["so_hoc_sinh"] for r in ds["records"]] == [1450, 1820, 960]
    assert [float(r["diem_chuan"]) for r in ds["records"]] == [22.5, 24.25, 21.0]


def test_png_named_csv_is_refused(pub, anon, tmp_path):
    mine = new_dataset(pub)
    path = write_file(tmp_path, "bang-so-lieu.csv", tiny_png())
    for fmt in [None, "CSV"]:
        with open(path, "rb") as f, pytest.raises(ValidationError) as e:
            pub.action.resource_create(package_id=mine["id"], format=fmt, upload=f)
        assert "upload" in e.value.error_dict or "format" in e.value.error_dict
    assert anon.action.package_show(id=mine["id"])["resources"] == []


def test_writes_by_get_are_refused(pub, pub_get, anon):
    """CKAN runs only side-effect-free actions on a GET ("Bad request - JSON Error: Invalid
    request. Please use POST method for your request", 400), so a link cannot change data;
    ckanapi in GET mode then raises its plain CKANAPIError."""
    mine = new_dataset(pub)
    with pytest.raises(CKANAPIError) as e:
        pub_get.action.package_patch(id=mine["id"], title="Đổi bằng GET")
    assert not isinstance(e.value, (NotFound, ValidationError, NotAuthorized))
    with pytest.raises(CKANAPIError):
        pub_get.action.package_delete(id=mine["id"])
    with pytest.raises(CKANAPIError):
        pub_get.action.package_create(name=unique(), title="Tạo bằng GET", owner_org=ORG)
    after = anon.action.package_show(id=mine["id"])
    assert after["title"] == mine["title"]
    assert after["state"] == "active"
    # ckanapi itself refuses to send a file in GET mode.
    with pytest.raises(CKANAPIError):
        pub_get.action.resource_create(package_id=mine["id"], upload=io.BytesIO(b"a,b\n1,2\n"))


# ---------------------------------------------------------------- the command line


def cli(*args, check=True):
    exe = os.path.join(os.path.dirname(sys.executable), "ckanapi")
    cmd = [exe] if os.path.exists(exe) else [
        sys.executable, "-c", "import sys; from ckanapi.cli.main import main; sys.exit(main())"
    ]
    env = dict(os.environ)
    # `dump` starts its workers as `ckanapi ...` from PATH.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    p = subprocess.run(
        cmd + list(args), capture_output=True, timeout=300, env=env, stdin=subprocess.DEVNULL
    )
    if check:
        assert p.returncode in (0, None), p.stderr.decode("utf-8", "replace")
    return p


def jsonl(out):
    return [json.loads(line) for line in out.decode("utf-8").splitlines() if line.strip()]


def test_cli_action_package_show():
    p = cli("action", "package_show", f"id={BUS}", "-r", BASE)
    pkg = json.loads(p.stdout)
    assert pkg["name"] == BUS
    assert pkg["title"] == "Tuyến xe buýt (mẫu)"
    by_id = json.loads(cli("action", "package_show", f"id={pkg['id']}", "-r", BASE, "-j").stdout)
    assert by_id["name"] == BUS


def test_cli_action_package_search_get():
    p = cli("action", "package_search", "q=xe buyt", "fq=res_format:CSV", "-g", "-r", BASE)
    res = json.loads(p.stdout)
    assert BUS in [r["name"] for r in res["results"]]
    facets = cli(
        "action", "package_search", 'facet.field:["organization"]', "rows=0", "-g", "-r", BASE
    )
    assert ORG in json.loads(facets.stdout)["facets"]["organization"]


def test_cli_action_errors_are_reported():
    p = cli("action", "package_show", f"id={unique('khong-co')}", "-r", BASE, check=False)
    assert p.returncode != 0
    assert b"NotFound" in p.stderr


def test_cli_search_datasets():
    p = cli("search", "datasets", "q=*:*", "-r", BASE)
    rows = jsonl(p.stdout)
    names = [r["name"] for r in rows]
    assert BUS in names and WARDS in names
    assert len(names) == len(set(names))
    count = requests.get(
        f"{BASE}/api/action/package_search", params={"rows": 0}, timeout=TIMEOUT
    ).json()["result"]["count"]
    assert len(rows) == count
    bus_only = jsonl(cli("search", "datasets", "q=xe buyt", f"fq=organization:{ORG}",
                         "-r", BASE, "-g").stdout)
    assert BUS in [r["name"] for r in bus_only]


def test_cli_dump_datasets_all(anon):
    p = cli("dump", "datasets", "--all", "-q", "-r", BASE)
    rows = jsonl(p.stdout)
    names = [r["name"] for r in rows]
    assert sorted(names) == sorted(anon.action.package_list())
    bus_row = next(r for r in rows if r["name"] == BUS)
    assert bus_row["resources"][0]["datastore_active"] is True


def test_cli_dump_datasets_with_datastore_fields(tmp_path):
    out = tmp_path / "dump.jsonl"
    cli("dump", "datasets", BUS, WARDS, "-d", "-p", "2", "-q", "-O", str(out), "-r", BASE)
    rows = {r["name"]: r for r in jsonl(out.read_bytes())}
    assert set(rows) == {BUS, WARDS}
    fields = rows[BUS]["resources"][0]["datastore_fields"]
    assert fields[0] == {"id": "_id", "type": "int"}
    assert {"id": "gia_ve_dong", "type": "int"} in fields


# ---------------------------------------------------------------- DCAT


def fetch_graph(url, fmt):
    r = requests.get(url, timeout=TIMEOUT)
    assert r.status_code == 200, (url, r.text[:500])
    g = Graph()
    g.parse(data=r.content, format=fmt, publicID=url)
    return g


def hydra(g, prop):
    """The one value of a Hydra paging property on a page (rdflib's Graph.value gives None
    when both subject and object are open)."""
    values = set(g.objects(None, prop))
    assert len(values) <= 1, (prop, values)
    return next(iter(values), None)


def catalog_pages(ext, fmt):
    """Every page of /catalog.{ext}, following hydra:next."""
    url, pages = f"{BASE}/catalog.{ext}", []
    seen = set()
    while url and url not in seen and len(pages) < 1000:
        seen.add(url)
        g = fetch_graph(url, fmt)
        pages.append(g)
        nxt = list(g.objects(None, HYDRA.next)) or list(g.objects(None, HYDRA.nextPage))
        url = str(nxt[0]) if nxt else None
    return pages


def site_url(anon):
    return anon.action.status_show()["site_url"].rstrip("/")


def ensure_public_datasets(pub, anon, n):
    count = anon.action.package_search(rows=0)["count"]
    for _ in range(max(0, n - count)):
        new_dataset(pub)


def test_catalog_turtle_and_jsonld_list_every_public_dataset(pub, anon):
    # A private one must not appear.
    hidden = new_dataset(pub, private=True)
    public, count = all_public(anon)
    site = site_url(anon)
    by_iri = {URIRef(f"{site}/dataset/{d['id']}"): d for d in public}
    want = set(by_iri)
    assert len(want) == count
    for ext, fmt in [("ttl", "turtle"), ("jsonld", "json-ld")]:
        pages = catalog_pages(ext, fmt)
        listed = set()
        for g in pages:
            catalogs = list(g.subjects(RDF.type, DCAT.Catalog))
            assert len(catalogs) == 1, ext
            cat = catalogs[0]
            assert g.value(cat, DCTERMS.title) is not None
            on_page = set(g.objects(cat, DCAT.dataset))
            assert len(on_page) <= 100
            listed |= on_page
            for ds in on_page:
                assert (ds, RDF.type, DCAT.Dataset) in g
                pkg = by_iri.get(ds)
                assert pkg is not None, ds
                titles = set(g.objects(ds, DCTERMS.title))
                assert Literal(pkg["title"], lang="vi") in titles, (ds, titles)
                dists = set(g.objects(ds, DCAT.distribution))
                assert len(dists) == len(pkg["resources"]), ds
                downloads = set()
                for dist in dists:
                    assert (dist, RDF.type, DCAT.Distribution) in g
                    assert g.value(dist, DCAT.accessURL) is not None, dist
                    url = g.value(dist, DCAT.downloadURL)
                    assert isinstance(url, URIRef), dist
                    downloads.add(str(url))
                assert downloads == {r["url"] for r in pkg["resources"]}, ds
        assert listed == want, (ext, listed ^ want)
        assert URIRef(f"{site}/dataset/{hidden['id']}") not in listed
        total = hydra(pages[0], HYDRA.totalItems)
        assert total is not None and int(total) == count, ext
    bus_ds = URIRef(f"{site}/dataset/{anon.action.package_show(id=BUS)['id']}")
    g = next(p for p in catalog_pages("ttl", "turtle") if (bus_ds, RDF.type, DCAT.Dataset) in p)
    dists = list(g.objects(bus_ds, DCAT.distribution))
    assert dists
    for dist in dists:
        url = g.value(dist, DCAT.downloadURL)
        assert url is not None
        assert requests.get(str(url), timeout=TIMEOUT).status_code == 200


def normalise_pages(g, ext):
    """The Turtle and JSON-LD catalogues differ only in the IRIs of their own pages."""
    out = Graph()
    marker = f"/catalog.{ext}"

    def fix(t):
        if isinstance(t, URIRef) and marker in str(t):
            return URIRef(str(t).replace(marker, "/catalog.PAGE"))
        return t

    for s, p, o in g:
        out.add((fix(s), p, fix(o)))
    return out


def test_catalog_turtle_and_jsonld_are_the_same_graph():
    ttl = normalise_pages(fetch_graph(f"{BASE}/catalog.ttl", "turtle"), "ttl")
    jld = normalise_pages(fetch_graph(f"{BASE}/catalog.jsonld", "json-ld"), "jsonld")
    if to_isomorphic(ttl) != to_isomorphic(jld):
        _, only_ttl, only_jld = graph_diff(to_isomorphic(ttl), to_isomorphic(jld))
        pytest.fail(
            "Turtle and JSON-LD differ:\nonly in Turtle:\n"
            + "\n".join(sorted(" ".join(t.n3() for t in x) for x in only_ttl)[:20])
            + "\nonly in JSON-LD:\n"
            + "\n".join(sorted(" ".join(t.n3() for t in x) for x in only_jld)[:20])
        )


def test_catalog_paging(pub, anon):
    ensure_public_datasets(pub, anon, 101)
    count = anon.action.package_search(rows=0)["count"]
    assert count > 100
    last_page = (count + 99) // 100
    first = fetch_graph(f"{BASE}/catalog.ttl", "turtle")
    assert int(hydra(first, HYDRA.totalItems)) == count
    assert int(hydra(first, HYDRA.itemsPerPage)) == 100
    nxt = hydra(first, HYDRA.next) or hydra(first, HYDRA.nextPage)
    assert nxt is not None and str(nxt).endswith("page=2")
    last = hydra(first, HYDRA.last) or hydra(first, HYDRA.lastPage)
    assert str(last).endswith(f"page={last_page}")
    cat = next(first.subjects(RDF.type, DCAT.Catalog))
    assert len(set(first.objects(cat, DCAT.dataset))) == 100
    tail = fetch_graph(str(last), "turtle")
    cat = next(tail.subjects(RDF.type, DCAT.Catalog))
    assert len(set(tail.objects(cat, DCAT.dataset))) == count - 100 * (last_page - 1)
    assert hydra(tail, HYDRA.next) is None and hydra(tail, HYDRA.nextPage) is None
    prev = hydra(tail, HYDRA.previous) or hydra(tail, HYDRA.previousPage)
    assert prev is not None
    # A page past the end is empty or not found, never a repeat of the last one.
    r = requests.get(f"{BASE}/catalog.ttl", params={"page": last_page + 5}, timeout=TIMEOUT)
    if r.status_code == 200:
        g = Graph().parse(data=r.content, format="turtle")
        assert not set(g.objects(None, DCAT.dataset))
    else:
        assert r.status_code in (400, 404)
    bad = requests.get(f"{BASE}/catalog.ttl", params={"page": "abc"}, timeout=TIMEOUT)
    assert bad.status_code == 400


def test_dataset_turtle_and_jsonld(pub, anon):
    mine = new_dataset(pub, title="Danh mục chợ truyền thống — Phường Bến Thành")
    site = site_url(anon)
    for key in [mine["id"], mine["name"]]:
        for ext, fmt in [("ttl", "turtle"), ("jsonld", "json-ld")]:
            g = fetch_graph(f"{BASE}/dataset/{key}.{ext}", fmt)
            ds = URIRef(f"{site}/dataset/{mine['id']}")
            assert (ds, RDF.type, DCAT.Dataset) in g, (key, ext)
            titles = set(g.objects(ds, DCTERMS.title))
            assert Literal("Danh mục chợ truyền thống — Phường Bến Thành", lang="vi") in titles
            assert str(g.value(ds, DCTERMS.identifier)) == mine["id"]
            keywords = {str(k) for k in g.objects(ds, DCAT.keyword)}
            assert {"kiểm thử", mine["name"]} <= keywords
    bus_pkg = anon.action.package_show(id=BUS)
    g = fetch_graph(f"{BASE}/dataset/{BUS}.ttl", "turtle")
    ds = URIRef(f"{site}/dataset/{bus_pkg['id']}")
    assert Literal("Tuyến xe buýt (mẫu)", lang="vi") in set(g.objects(ds, DCTERMS.title))
    dist = g.value(ds, DCAT.distribution)
    assert g.value(dist, DCAT.downloadURL) is not None
    assert str(g.value(dist, DCTERMS["format"])) == "CSV"
    r = requests.get(f"{BASE}/dataset/{unique('khong-co')}.ttl", timeout=TIMEOUT)
    assert r.status_code == 404
    hidden = new_dataset(pub, private=True)
    assert requests.get(f"{BASE}/dataset/{hidden['id']}.ttl", timeout=TIMEOUT).status_code == 404
