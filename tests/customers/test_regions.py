"""The fixed region list and the normalisation of provinces and cities typed on entry."""
import pytest
from django.core.exceptions import ValidationError

from customers import regions
from customers.regions import CITIES, PROVINCES, normalize_city, normalize_province


def test_34_provinces_with_unique_codes_and_names():
    assert len(PROVINCES) == 34
    for field in ("code", "name", "name_en", "short"):
        values = [getattr(province, field) for province in PROVINCES]
        assert len(set(values)) == 34, field
    assert all(len(province.code) == 2 and province.code.isdigit() for province in PROVINCES)
    codes = [province.code for province in PROVINCES]
    assert codes == sorted(codes)


def test_every_province_has_cities():
    assert set(CITIES) == {province.name for province in PROVINCES}
    for province, cities in CITIES.items():
        assert cities, province
        names = [city.name for city in cities]
        assert len(set(names)) == len(names), province


@pytest.mark.parametrize(("province", "count"), [
    ("广东省", 21), ("浙江省", 11), ("江苏省", 13), ("四川省", 21), ("新疆维吾尔自治区", 14),
    ("山东省", 16), ("安徽省", 16), ("西藏自治区", 7), ("青海省", 8), ("贵州省", 9),
])
def test_prefecture_counts(province, count):
    assert len(CITIES[province]) == count


def test_recent_changes_are_reflected():
    names = {province: {city.name for city in cities} for province, cities in CITIES.items()}
    assert {"毕节市", "铜仁市"} <= names["贵州省"]
    assert "海东市" in names["青海省"]
    assert {"吐鲁番市", "哈密市"} <= names["新疆维吾尔自治区"]
    assert "莱芜市" not in names["山东省"]
    assert "巢湖市" not in names["安徽省"]


@pytest.mark.parametrize("value", ["上海市", "上海", "Shanghai", "shanghai", " SHANG hai ", "31"])
def test_province_aliases(value):
    assert normalize_province(value) == "上海市"


def test_more_province_aliases():
    assert normalize_province("广西") == "广西壮族自治区"
    assert normalize_province("内蒙古") == "内蒙古自治区"
    assert normalize_province("Inner Mongolia") == "内蒙古自治区"
    assert normalize_province("新疆") == "新疆维吾尔自治区"
    assert normalize_province("hong kong") == "香港特别行政区"
    assert normalize_province("44") == "广东省"
    assert normalize_province("Shaanxi") == "陕西省"
    assert normalize_province("Shanxi") == "山西省"


def test_every_province_resolves_from_each_of_its_forms():
    for province in PROVINCES:
        for value in (province.name, province.short, province.name_en, province.code):
            assert normalize_province(value) == province.name


def test_city_aliases():
    assert normalize_city("浙江省", "杭州市") == "杭州市"
    assert normalize_city("浙江省", "杭州") == "杭州市"
    assert normalize_city("浙江省", "hangzhou") == "杭州市"
    assert normalize_city("浙江省", "Hang Zhou") == "杭州市"
    assert normalize_city("吉林省", "延边") == "延边朝鲜族自治州"
    assert normalize_city("黑龙江省", "大兴安岭") == "大兴安岭地区"
    assert normalize_city("内蒙古自治区", "锡林郭勒") == "锡林郭勒盟"
    assert normalize_city("上海市", "浦东") == "浦东新区"
    assert normalize_city("上海市", "徐汇") == "徐汇区"
    assert normalize_city("重庆市", "石柱") == "石柱土家族自治县"
    assert normalize_city("陕西省", "xian") == "西安市"


def test_every_city_resolves_from_its_full_and_english_names():
    for province, cities in CITIES.items():
        for city in cities:
            assert normalize_city(province, city.name) == city.name
            assert normalize_city(province, city.name_en) == city.name


def test_unknown_province_is_rejected():
    with pytest.raises(ValidationError) as excinfo:
        normalize_province("Atlantis")
    assert excinfo.value.code == "unknown_province"


def test_city_of_another_province_is_rejected():
    with pytest.raises(ValidationError) as excinfo:
        normalize_city("浙江省", "广州")
    assert excinfo.value.code == "unknown_city"
    with pytest.raises(ValidationError) as excinfo:
        normalize_city("山东省", "莱芜")
    assert excinfo.value.code == "unknown_city"


def test_empty_input_is_empty():
    assert normalize_province("") == ""
    assert normalize_province("   ") == ""
    assert normalize_city("浙江省", "") == ""


def test_choices_and_labels():
    choices = regions.province_choices()
    assert len(choices) == 34
    assert choices[0] == ("北京市", "北京市")
    assert choices[-1] == ("澳门特别行政区", "澳门特别行政区")
    assert regions.city_choices("浙江省")[0] == ("杭州市", "杭州市")
    assert len(regions.city_choices("广东省")) == 21
    assert regions.province_label("广东省", "en") == "Guangdong"
    assert regions.province_label("广东省", "en-us") == "Guangdong"
    assert regions.province_label("广东省", "zh-hans") == "广东省"
