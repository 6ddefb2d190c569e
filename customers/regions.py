"""The fixed list of Chinese administrative regions used to normalise addresses on entry.

Addresses typed into the CRM name their province and city in many ways: "上海", "上海市",
"Shanghai", "31"; "杭州", "杭州市", "hangzhou". Before an address is stored, its province and
city are mapped onto one canonical spelling taken from this module, so that filters, reports and
routing rules compare like with like.

The list is fixed in code (no database table): the 34 provincial-level divisions of GB/T 2260, in
code order, and for each of them its prefecture-level divisions (prefecture-level cities,
autonomous prefectures, leagues 盟 and areas 地区) as of 2024. The four municipalities list their
districts instead (Chongqing its counties too); Hong Kong, Macau and Taiwan have a short list of
their usual subdivisions. County-level cities governed directly by a province (仙桃市, 济源市,
石河子市 ...) are not prefecture-level and are not listed.

Every lookup goes through alias dictionaries built once at import, so normalising is O(1).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

__all__ = [
    "CITIES",
    "PROVINCES",
    "City",
    "Province",
    "city_choices",
    "normalize_city",
    "normalize_province",
    "province_choices",
    "province_label",
]


@dataclass(frozen=True)
class Province:
    code: str  # two-digit GB/T 2260 code, e.g. "31"
    name: str  # official Chinese full name, e.g. "上海市"
    name_en: str  # e.g. "Shanghai"
    short: str  # short Chinese form, e.g. "上海"


@dataclass(frozen=True)
class City:
    name: str  # official Chinese name, e.g. "杭州市"
    name_en: str  # e.g. "Hangzhou"


PROVINCES: tuple[Province, ...] = (
    Province("11", "北京市", "Beijing", "北京"),
    Province("12", "天津市", "Tianjin", "天津"),
    Province("13", "河北省", "Hebei", "河北"),
    Province("14", "山西省", "Shanxi", "山西"),
    Province("15", "内蒙古自治区", "Inner Mongolia", "内蒙古"),
    Province("21", "辽宁省", "Liaoning", "辽宁"),
    Province("22", "吉林省", "Jilin", "吉林"),
    Province("23", "黑龙江省", "Heilongjiang", "黑龙江"),
    Province("31", "上海市", "Shanghai", "上海"),
    Province("32", "江苏省", "Jiangsu", "江苏"),
    Province("33", "浙江省", "Zhejiang", "浙江"),
    Province("34", "安徽省", "Anhui", "安徽"),
    Province("35", "福建省", "Fujian", "福建"),
    Province("36", "江西省", "Jiangxi", "江西"),
    Province("37", "山东省", "Shandong", "山东"),
    Province("41", "河南省", "Henan", "河南"),
    Province("42", "湖北省", "Hubei", "湖北"),
    Province("43", "湖南省", "Hunan", "湖南"),
    Province("44", "广东省", "Guangdong", "广东"),
    Province("45", "广西壮族自治区", "Guangxi", "广西"),
    Province("46", "海南省", "Hainan", "海南"),
    Province("50", "重庆市", "Chongqing", "重庆"),
    Province("51", "四川省", "Sichuan", "四川"),
    Province("52", "贵州省", "Guizhou", "贵州"),
    Province("53", "云南省", "Yunnan", "云南"),
    Province("54", "西藏自治区", "Tibet", "西藏"),
    Province("61", "陕西省", "Shaanxi", "陕西"),
    Province("62", "甘肃省", "Gansu", "甘肃"),
    Province("63", "青海省", "Qinghai", "青海"),
    Province("64", "宁夏回族自治区", "Ningxia", "宁夏"),
    Province("65", "新疆维吾尔自治区", "Xinjiang", "新疆"),
    Province("71", "台湾省", "Taiwan", "台湾"),
    Province("81", "香港特别行政区", "Hong Kong", "香港"),
    Province("82", "澳门特别行政区", "Macau", "澳门"),
)

# Other spellings accepted for a province, besides its full name, short name, English name and code.
_EXTRA_PROVINCE_ALIASES: dict[str, str] = {
    "Xizang": "西藏自治区",
    "Nei Mongol": "内蒙古自治区",
    "Neimenggu": "内蒙古自治区",
    "Macao": "澳门特别行政区",
    "Hongkong": "香港特别行政区",
}

# (Chinese name, English name) of each division, in GB/T 2260 code order within a province.
_CITY_ROWS: dict[str, tuple[tuple[str, str], ...]] = {
    "北京市": (
        ("东城区", "Dongcheng"), ("西城区", "Xicheng"), ("朝阳区", "Chaoyang"), ("丰台区", "Fengtai"),
        ("石景山区", "Shijingshan"), ("海淀区", "Haidian"), ("门头沟区", "Mentougou"), ("房山区", "Fangshan"),
        ("通州区", "Tongzhou"), ("顺义区", "Shunyi"), ("昌平区", "Changping"), ("大兴区", "Daxing"),
        ("怀柔区", "Huairou"), ("平谷区", "Pinggu"), ("密云区", "Miyun"), ("延庆区", "Yanqing"),
    ),
    "天津市": (
        ("和平区", "Heping"), ("河东区", "Hedong"), ("河西区", "Hexi"), ("南开区", "Nankai"),
        ("河北区", "Hebei"), ("红桥区", "Hongqiao"), ("东丽区", "Dongli"), ("西青区", "Xiqing"),
        ("津南区", "Jinnan"), ("北辰区", "Beichen"), ("武清区", "Wuqing"), ("宝坻区", "Baodi"),
        ("滨海新区", "Binhai"), ("宁河区", "Ninghe"), ("静海区", "Jinghai"), ("蓟州区", "Jizhou"),
    ),
    "河北省": (
        ("石家庄市", "Shijiazhuang"), ("唐山市", "Tangshan"), ("秦皇岛市", "Qinhuangdao"), ("邯郸市", "Handan"),
        ("邢台市", "Xingtai"), ("保定市", "Baoding"), ("张家口市", "Zhangjiakou"), ("承德市", "Chengde"),
        ("沧州市", "Cangzhou"), ("廊坊市", "Langfang"), ("衡水市", "Hengshui"),
    ),
    "山西省": (
        ("太原市", "Taiyuan"), ("大同市", "Datong"), ("阳泉市", "Yangquan"), ("长治市", "Changzhi"),
        ("晋城市", "Jincheng"), ("朔州市", "Shuozhou"), ("晋中市", "Jinzhong"), ("运城市", "Yuncheng"),
        ("忻州市", "Xinzhou"), ("临汾市", "Linfen"), ("吕梁市", "Lüliang"),
    ),
    "内蒙古自治区": (
        ("呼和浩特市", "Hohhot"), ("包头市", "Baotou"), ("乌海市", "Wuhai"), ("赤峰市", "Chifeng"),
        ("通辽市", "Tongliao"), ("鄂尔多斯市", "Ordos"), ("呼伦贝尔市", "Hulunbuir"), ("巴彦淖尔市", "Bayannur"),
        ("乌兰察布市", "Ulanqab"), ("兴安盟", "Hinggan"), ("锡林郭勒盟", "Xilingol"), ("阿拉善盟", "Alxa"),
    ),
    "辽宁省": (
        ("沈阳市", "Shenyang"), ("大连市", "Dalian"), ("鞍山市", "Anshan"), ("抚顺市", "Fushun"),
        ("本溪市", "Benxi"), ("丹东市", "Dandong"), ("锦州市", "Jinzhou"), ("营口市", "Yingkou"),
        ("阜新市", "Fuxin"), ("辽阳市", "Liaoyang"), ("盘锦市", "Panjin"), ("铁岭市", "Tieling"),
        ("朝阳市", "Chaoyang"), ("葫芦岛市", "Huludao"),
    ),
    "吉林省": (
        ("长春市", "Changchun"), ("吉林市", "Jilin"), ("四平市", "Siping"), ("辽源市", "Liaoyuan"),
        ("通化市", "Tonghua"), ("白山市", "Baishan"), ("松原市", "Songyuan"), ("白城市", "Baicheng"),
        ("延边朝鲜族自治州", "Yanbian"),
    ),
    "黑龙江省": (
        ("哈尔滨市", "Harbin"), ("齐齐哈尔市", "Qiqihar"), ("鸡西市", "Jixi"), ("鹤岗市", "Hegang"),
        ("双鸭山市", "Shuangyashan"), ("大庆市", "Daqing"), ("伊春市", "Yichun"), ("佳木斯市", "Jiamusi"),
        ("七台河市", "Qitaihe"), ("牡丹江市", "Mudanjiang"), ("黑河市", "Heihe"), ("绥化市", "Suihua"),
        ("大兴安岭地区", "Da Hinggan Ling"),
    ),
    "上海市": (
        ("黄浦区", "Huangpu"), ("徐汇区", "Xuhui"), ("长宁区", "Changning"), ("静安区", "Jing'an"),
        ("普陀区", "Putuo"), ("虹口区", "Hongkou"), ("杨浦区", "Yangpu"), ("闵行区", "Minhang"),
        ("宝山区", "Baoshan"), ("嘉定区", "Jiading"), ("浦东新区", "Pudong"), ("金山区", "Jinshan"),
        ("松江区", "Songjiang"), ("青浦区", "Qingpu"), ("奉贤区", "Fengxian"), ("崇明区", "Chongming"),
    ),
    "江苏省": (
        ("南京市", "Nanjing"), ("无锡市", "Wuxi"), ("徐州市", "Xuzhou"), ("常州市", "Changzhou"),
        ("苏州市", "Suzhou"), ("南通市", "Nantong"), ("连云港市", "Lianyungang"), ("淮安市", "Huai'an"),
        ("盐城市", "Yancheng"), ("扬州市", "Yangzhou"), ("镇江市", "Zhenjiang"), ("泰州市", "Taizhou"),
        ("宿迁市", "Suqian"),
    ),
    "浙江省": (
        ("杭州市", "Hangzhou"), ("宁波市", "Ningbo"), ("温州市", "Wenzhou"), ("嘉兴市", "Jiaxing"),
        ("湖州市", "Huzhou"), ("绍兴市", "Shaoxing"), ("金华市", "Jinhua"), ("衢州市", "Quzhou"),
        ("舟山市", "Zhoushan"), ("台州市", "Taizhou"), ("丽水市", "Lishui"),
    ),
    "安徽省": (
        ("合肥市", "Hefei"), ("芜湖市", "Wuhu"), ("蚌埠市", "Bengbu"), ("淮南市", "Huainan"),
        ("马鞍山市", "Ma'anshan"), ("淮北市", "Huaibei"), ("铜陵市", "Tongling"), ("安庆市", "Anqing"),
        ("黄山市", "Huangshan"), ("滁州市", "Chuzhou"), ("阜阳市", "Fuyang"), ("宿州市", "Suzhou"),
        ("六安市", "Lu'an"), ("亳州市", "Bozhou"), ("池州市", "Chizhou"), ("宣城市", "Xuancheng"),
    ),
    "福建省": (
        ("福州市", "Fuzhou"), ("厦门市", "Xiamen"), ("莆田市", "Putian"), ("三明市", "Sanming"),
        ("泉州市", "Quanzhou"), ("漳州市", "Zhangzhou"), ("南平市", "Nanping"), ("龙岩市", "Longyan"),
        ("宁德市", "Ningde"),
    ),
    "江西省": (
        ("南昌市", "Nanchang"), ("景德镇市", "Jingdezhen"), ("萍乡市", "Pingxiang"), ("九江市", "Jiujiang"),
        ("新余市", "Xinyu"), ("鹰潭市", "Yingtan"), ("赣州市", "Ganzhou"), ("吉安市", "Ji'an"),
        ("宜春市", "Yichun"), ("抚州市", "Fuzhou"), ("上饶市", "Shangrao"),
    ),
    "山东省": (
        ("济南市", "Jinan"), ("青岛市", "Qingdao"), ("淄博市", "Zibo"), ("枣庄市", "Zaozhuang"),
        ("东营市", "Dongying"), ("烟台市", "Yantai"), ("潍坊市", "Weifang"), ("济宁市", "Jining"),
        ("泰安市", "Tai'an"), ("威海市", "Weihai"), ("日照市", "Rizhao"), ("临沂市", "Linyi"),
        ("德州市", "Dezhou"), ("聊城市", "Liaocheng"), ("滨州市", "Binzhou"), ("菏泽市", "Heze"),
    ),
    "河南省": (
        ("郑州市", "Zhengzhou"), ("开封市", "Kaifeng"), ("洛阳市", "Luoyang"), ("平顶山市", "Pingdingshan"),
        ("安阳市", "Anyang"), ("鹤壁市", "Hebi"), ("新乡市", "Xinxiang"), ("焦作市", "Jiaozuo"),
        ("濮阳市", "Puyang"), ("许昌市", "Xuchang"), ("漯河市", "Luohe"), ("三门峡市", "Sanmenxia"),
        ("南阳市", "Nanyang"), ("商丘市", "Shangqiu"), ("信阳市", "Xinyang"), ("周口市", "Zhoukou"),
        ("驻马店市", "Zhumadian"),
    ),
    "湖北省": (
        ("武汉市", "Wuhan"), ("黄石市", "Huangshi"), ("十堰市", "Shiyan"), ("宜昌市", "Yichang"),
        ("襄阳市", "Xiangyang"), ("鄂州市", "Ezhou"), ("荆门市", "Jingmen"), ("孝感市", "Xiaogan"),
        ("荆州市", "Jingzhou"), ("黄冈市", "Huanggang"), ("咸宁市", "Xianning"), ("随州市", "Suizhou"),
        ("恩施土家族苗族自治州", "Enshi"),
    ),
    "湖南省": (
        ("长沙市", "Changsha"), ("株洲市", "Zhuzhou"), ("湘潭市", "Xiangtan"), ("衡阳市", "Hengyang"),
        ("邵阳市", "Shaoyang"), ("岳阳市", "Yueyang"), ("常德市", "Changde"), ("张家界市", "Zhangjiajie"),
        ("益阳市", "Yiyang"), ("郴州市", "Chenzhou"), ("永州市", "Yongzhou"), ("怀化市", "Huaihua"),
        ("娄底市", "Loudi"), ("湘西土家族苗族自治州", "Xiangxi"),
    ),
    "广东省": (
        ("广州市", "Guangzhou"), ("韶关市", "Shaoguan"), ("深圳市", "Shenzhen"), ("珠海市", "Zhuhai"),
        ("汕头市", "Shantou"), ("佛山市", "Foshan"), ("江门市", "Jiangmen"), ("湛江市", "Zhanjiang"),
        ("茂名市", "Maoming"), ("肇庆市", "Zhaoqing"), ("惠州市", "Huizhou"), ("梅州市", "Meizhou"),
        ("汕尾市", "Shanwei"), ("河源市", "Heyuan"), ("阳江市", "Yangjiang"), ("清远市", "Qingyuan"),
        ("东莞市", "Dongguan"), ("中山市", "Zhongshan"), ("潮州市", "Chaozhou"), ("揭阳市", "Jieyang"),
        ("云浮市", "Yunfu"),
    ),
    "广西壮族自治区": (
        ("南宁市", "Nanning"), ("柳州市", "Liuzhou"), ("桂林市", "Guilin"), ("梧州市", "Wuzhou"),
        ("北海市", "Beihai"), ("防城港市", "Fangchenggang"), ("钦州市", "Qinzhou"), ("贵港市", "Guigang"),
        ("玉林市", "Yulin"), ("百色市", "Baise"), ("贺州市", "Hezhou"), ("河池市", "Hechi"),
        ("来宾市", "Laibin"), ("崇左市", "Chongzuo"),
    ),
    "海南省": (
        ("海口市", "Haikou"), ("三亚市", "Sanya"), ("三沙市", "Sansha"), ("儋州市", "Danzhou"),
    ),
    "重庆市": (
        ("万州区", "Wanzhou"), ("涪陵区", "Fuling"), ("渝中区", "Yuzhong"), ("大渡口区", "Dadukou"),
        ("江北区", "Jiangbei"), ("沙坪坝区", "Shapingba"), ("九龙坡区", "Jiulongpo"), ("南岸区", "Nan'an"),
        ("北碚区", "Beibei"), ("綦江区", "Qijiang"), ("大足区", "Dazu"), ("渝北区", "Yubei"),
        ("巴南区", "Banan"), ("黔江区", "Qianjiang"), ("长寿区", "Changshou"), ("江津区", "Jiangjin"),
        ("合川区", "Hechuan"), ("永川区", "Yongchuan"), ("南川区", "Nanchuan"), ("璧山区", "Bishan"),
        ("铜梁区", "Tongliang"), ("潼南区", "Tongnan"), ("荣昌区", "Rongchang"), ("开州区", "Kaizhou"),
        ("梁平区", "Liangping"), ("武隆区", "Wulong"), ("城口县", "Chengkou"), ("丰都县", "Fengdu"),
        ("垫江县", "Dianjiang"), ("忠县", "Zhongxian"), ("云阳县", "Yunyang"), ("奉节县", "Fengjie"),
        ("巫山县", "Wushan"), ("巫溪县", "Wuxi"), ("石柱土家族自治县", "Shizhu"),
        ("秀山土家族苗族自治县", "Xiushan"), ("酉阳土家族苗族自治县", "Youyang"),
        ("彭水苗族土家族自治县", "Pengshui"),
    ),
    "四川省": (
        ("成都市", "Chengdu"), ("自贡市", "Zigong"), ("攀枝花市", "Panzhihua"), ("泸州市", "Luzhou"),
        ("德阳市", "Deyang"), ("绵阳市", "Mianyang"), ("广元市", "Guangyuan"), ("遂宁市", "Suining"),
        ("内江市", "Neijiang"), ("乐山市", "Leshan"), ("南充市", "Nanchong"), ("眉山市", "Meishan"),
        ("宜宾市", "Yibin"), ("广安市", "Guang'an"), ("达州市", "Dazhou"), ("雅安市", "Ya'an"),
        ("巴中市", "Bazhong"), ("资阳市", "Ziyang"), ("阿坝藏族羌族自治州", "Ngawa"),
        ("甘孜藏族自治州", "Garze"), ("凉山彝族自治州", "Liangshan"),
    ),
    "贵州省": (
        ("贵阳市", "Guiyang"), ("六盘水市", "Liupanshui"), ("遵义市", "Zunyi"), ("安顺市", "Anshun"),
        ("毕节市", "Bijie"), ("铜仁市", "Tongren"), ("黔西南布依族苗族自治州", "Qianxinan"),
        ("黔东南苗族侗族自治州", "Qiandongnan"), ("黔南布依族苗族自治州", "Qiannan"),
    ),
    "云南省": (
        ("昆明市", "Kunming"), ("曲靖市", "Qujing"), ("玉溪市", "Yuxi"), ("保山市", "Baoshan"),
        ("昭通市", "Zhaotong"), ("丽江市", "Lijiang"), ("普洱市", "Pu'er"), ("临沧市", "Lincang"),
        ("楚雄彝族自治州", "Chuxiong"), ("红河哈尼族彝族自治州", "Honghe"), ("文山壮族苗族自治州", "Wenshan"),
        ("西双版纳傣族自治州", "Xishuangbanna"), ("大理白族自治州", "Dali"), ("德宏傣族景颇族自治州", "Dehong"),
        ("怒江傈僳族自治州", "Nujiang"), ("迪庆藏族自治州", "Diqing"),
    ),
    "西藏自治区": (
        ("拉萨市", "Lhasa"), ("日喀则市", "Shigatse"), ("昌都市", "Qamdo"), ("林芝市", "Nyingchi"),
        ("山南市", "Shannan"), ("那曲市", "Nagqu"), ("阿里地区", "Ngari"),
    ),
    "陕西省": (
        ("西安市", "Xi'an"), ("铜川市", "Tongchuan"), ("宝鸡市", "Baoji"), ("咸阳市", "Xianyang"),
        ("渭南市", "Weinan"), ("延安市", "Yan'an"), ("汉中市", "Hanzhong"), ("榆林市", "Yulin"),
        ("安康市", "Ankang"), ("商洛市", "Shangluo"),
    ),
    "甘肃省": (
        ("兰州市", "Lanzhou"), ("嘉峪关市", "Jiayuguan"), ("金昌市", "Jinchang"), ("白银市", "Baiyin"),
        ("天水市", "Tianshui"), ("武威市", "Wuwei"), ("张掖市", "Zhangye"), ("平凉市", "Pingliang"),
        ("酒泉市", "Jiuquan"), ("庆阳市", "Qingyang"), ("定西市", "Dingxi"), ("陇南市", "Longnan"),
        ("临夏回族自治州", "Linxia"), ("甘南藏族自治州", "Gannan"),
    ),
    "青海省": (
        ("西宁市", "Xining"), ("海东市", "Haidong"), ("海北藏族自治州", "Haibei"), ("黄南藏族自治州", "Huangnan"),
        ("海南藏族自治州", "Hainan"), ("果洛藏族自治州", "Golog"), ("玉树藏族自治州", "Yushu"),
        ("海西蒙古族藏族自治州", "Haixi"),
    ),
    "宁夏回族自治区": (
        ("银川市", "Yinchuan"), ("石嘴山市", "Shizuishan"), ("吴忠市", "Wuzhong"), ("固原市", "Guyuan"),
        ("中卫市", "Zhongwei"),
    ),
    "新疆维吾尔自治区": (
        ("乌鲁木齐市", "Urumqi"), ("克拉玛依市", "Karamay"), ("吐鲁番市", "Turpan"), ("哈密市", "Hami"),
        ("昌吉回族自治州", "Changji"), ("博尔塔拉蒙古自治州", "Bortala"), ("巴音郭楞蒙古自治州", "Bayingolin"),
        ("阿克苏地区", "Aksu"), ("克孜勒苏柯尔克孜自治州", "Kizilsu"), ("喀什地区", "Kashgar"),
        ("和田地区", "Hotan"), ("伊犁哈萨克自治州", "Ili"), ("塔城地区", "Tacheng"), ("阿勒泰地区", "Altay"),
    ),
    "台湾省": (
        ("台北市", "Taipei"), ("新北市", "New Taipei"), ("桃园市", "Taoyuan"), ("台中市", "Taichung"),
        ("台南市", "Tainan"), ("高雄市", "Kaohsiung"), ("基隆市", "Keelung"), ("新竹市", "Hsinchu City"),
        ("嘉义市", "Chiayi City"), ("新竹县", "Hsinchu County"), ("苗栗县", "Miaoli"), ("彰化县", "Changhua"),
        ("南投县", "Nantou"), ("云林县", "Yunlin"), ("嘉义县", "Chiayi County"), ("屏东县", "Pingtung"),
        ("宜兰县", "Yilan"), ("花莲县", "Hualien"), ("台东县", "Taitung"), ("澎湖县", "Penghu"),
    ),
    "香港特别行政区": (
        ("香港岛", "Hong Kong Island"), ("九龙", "Kowloon"), ("新界", "New Territories"),
    ),
    "澳门特别行政区": (
        ("澳门半岛", "Macau Peninsula"), ("氹仔", "Taipa"), ("路环", "Coloane"),
    ),
}

CITIES: dict[str, tuple[City, ...]] = {
    province: tuple(City(name, name_en) for name, name_en in rows) for province, rows in _CITY_ROWS.items()
}

# Suffixes dropped to get the short form a person types ("杭州" for "杭州市"); longest first.
_CITY_SUFFIXES = ("自治州", "自治县", "地区", "新区", "市", "区", "县", "盟")
# Ethnic groups named in autonomous prefectures and counties: "延边朝鲜族自治州" is typed "延边".
_ETHNIC_GROUPS = (
    "朝鲜族", "土家族", "苗族", "藏族", "羌族", "彝族", "布依族", "侗族", "哈尼族", "壮族", "傣族", "白族",
    "景颇族", "傈僳族", "回族", "蒙古族", "蒙古", "柯尔克孜", "哈萨克",
)
_ETHNIC_TAIL = re.compile("(?:" + "|".join(sorted(_ETHNIC_GROUPS, key=len, reverse=True)) + ")+$")
_IGNORED_IN_KEYS = str.maketrans({"'": None, "’": None, "-": None, ".": None, "ü": "v"})


def _key(value: str) -> str:
    """The form an alias is looked up by: no whitespace or punctuation, case-folded."""
    return "".join(value.split()).casefold().translate(_IGNORED_IN_KEYS)


def _short_city_name(name: str) -> str:
    for suffix in _CITY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if suffix.startswith("自治"):
                stem = _ETHNIC_TAIL.sub("", stem) or stem
            return stem
    return name


def _build_province_aliases() -> dict[str, Province]:
    aliases: dict[str, Province] = {}
    for province in PROVINCES:
        for alias in (province.name, province.short, province.name_en, province.code, f"{province.code}0000"):
            aliases.setdefault(_key(alias), province)
    by_name = {province.name: province for province in PROVINCES}
    for alias, name in _EXTRA_PROVINCE_ALIASES.items():
        aliases.setdefault(_key(alias), by_name[name])
    return aliases


def _build_city_aliases() -> dict[str, dict[str, City]]:
    result: dict[str, dict[str, City]] = {}
    for province, cities in CITIES.items():
        aliases: dict[str, City] = {}
        # Full names win over English names, which win over short forms (新竹 is 新竹市, not 新竹县).
        for city in cities:
            aliases.setdefault(_key(city.name), city)
        for city in cities:
            aliases.setdefault(_key(city.name_en), city)
        for city in cities:
            aliases.setdefault(_key(_short_city_name(city.name)), city)
        result[province] = aliases
    return result


_PROVINCE_ALIASES = _build_province_aliases()
_CITY_ALIASES = _build_city_aliases()


def _find_province(value: str) -> Province | None:
    return _PROVINCE_ALIASES.get(_key(value))


def normalize_province(value: str) -> str:
    """The official Chinese full name of a province given by full or short name, English name or code."""
    if not value or not value.strip():
        return ""
    province = _find_province(value)
    if province is None:
        raise ValidationError(_("Unknown province: %(value)s"), code="unknown_province", params={"value": value})
    return province.name


# Municipalities directly under the central government: their "cities" are districts.
MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})


def normalize_city(province: str, value: str) -> str:
    """The official Chinese name of a city of ``province`` given by full name, name without suffix or English."""
    if not value or not value.strip():
        return ""
    found = _find_province(province) if province else None
    if found is not None and found.name in MUNICIPALITIES and _find_province(value) is found:
        # A municipality is its own city level (上海市 / 上海市 / 浦东新区): accept it as the city.
        return found.name
    city = _CITY_ALIASES[found.name].get(_key(value)) if found else None
    if city is None:
        raise ValidationError(
            _("%(city)s is not a city of %(province)s."),
            code="unknown_city",
            params={"city": value, "province": province},
        )
    return city.name


def province_choices() -> list[tuple[str, str]]:
    """(full name, full name) pairs in code order, for a form's select field."""
    return [(province.name, province.name) for province in PROVINCES]


def city_choices(province: str) -> list[tuple[str, str]]:
    """(name, name) pairs of a province's cities, in code order; empty for an unknown province."""
    found = _find_province(province) if province else None
    if found is None:
        return []
    own = [(found.name, found.name)] if found.name in MUNICIPALITIES else []
    return own + [(city.name, city.name) for city in CITIES[found.name]]


def city_names(province: str) -> list[str]:
    """The names offered while typing a city of `province` (the form's datalist)."""
    return [name for name, _label in city_choices(province)] if province else []


def province_label(name: str, language: str) -> str:
    """The province's English name when ``language`` is English, otherwise its Chinese full name."""
    found = _find_province(name) if name else None
    if found is None:
        return name
    return found.name_en if (language or "").lower().startswith("en") else found.name
