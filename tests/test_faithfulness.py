from jiandu.faithfulness import check_bullets

MIDJOURNEY_ARTICLE = (
    "Midjourney AI Alpha is the latest version of the popular image generator. Midjourney first "
    "launched in 2021 as a private beta on Discord. In November 2022 it introduced an Alpha web "
    "interface, removing the need for a Discord account."
)
ADOBE_ARTICLE = "Adobe和Figma宣布终止200亿美元的收购计划，原因是英国和欧盟监管机构的反对。Figma股价周一上涨15%。"


def test_seed_002_invented_maker_is_flagged():
    bullets = ["Midjourney AI Alpha是一款领先的AI图像生成工具，由Anthropic开发。", "Midjourney于2021年首次在Discord上发布。"]
    assert check_bullets(bullets, MIDJOURNEY_ARTICLE) == ["Anthropic"]


def test_faithful_bullets_pass_in_both_languages():
    assert check_bullets(["Midjourney在2022年推出Alpha网页界面，无需Discord帐户。"], MIDJOURNEY_ARTICLE) == []
    assert check_bullets(["Adobe终止以200亿美元收购Figma的计划，Figma股价上涨15%。"], ADOBE_ARTICLE) == []


def test_magnitudes_separators_width_and_spacing_are_one_number():
    for written in ("200亿", "200 亿", "20,000,000,000", "２００亿", "20000000000"):
        assert check_bullets([f"Adobe放弃{written}美元交易"], ADOBE_ARTICLE) == [], written
    english = "Adobe agreed to pay $20 billion for Figma, 1.5 million users."
    assert check_bullets(["Adobe以200亿美元收购Figma，用户150万。"], english) == []


def test_wrong_numbers_and_percentages_are_flagged():
    assert check_bullets(["Adobe放弃300亿美元交易，股价上涨16%。"], ADOBE_ARTICLE) == ["300亿", "16%"]
    # "15 percent" is the article's 15%
    assert check_bullets(["The stock rose 15 percent."], ADOBE_ARTICLE) == []


def test_chinese_comma_is_not_a_thousands_separator():
    article = "公司共有5人，300台服务器。"
    assert check_bullets(["公司有5人，300台服务器。"], article) == []
    assert check_bullets(["公司有5,300台服务器。"], article) == ["5,300"]


def test_small_counts_are_not_checked_across_languages():
    assert check_bullets(["Midjourney的3个版本。"], MIDJOURNEY_ARTICLE) == []
    # Between two Chinese texts a count is a claim like any other.
    assert check_bullets(["Adobe与Figma的3个月谈判结束。"], ADOBE_ARTICLE) == ["3"]
    assert check_bullets(["两家公司谈判了3个月。"], "两家公司谈判了三个月。") == []


def test_latin_names_match_case_insensitively_but_as_whole_words():
    article = "OpenAI said the model is safe. The paid plan costs more."
    assert check_bullets(["OPENAI表示模型是安全的。"], article) == []
    assert check_bullets(["AI公司表示"], article) == ["AI"]  # "ai" inside "said" or "paid" does not count


def test_quoted_terms_must_occur():
    article = "他们称之为“地球末日”鸡尾酒，并在《自然》杂志发表。"
    assert check_bullets(["这款「地球末日」鸡尾酒登上《自然》。"], article) == []
    assert check_bullets(["这款“宇宙尽头”鸡尾酒。"], article) == ["“宇宙尽头”"]


def test_chinese_quotes_of_an_english_article_are_translations():
    assert check_bullets(["奥巴马称之为“最大的挫折”。"], "Obama called it his 'biggest frustration'.") == []


def test_sentence_initial_capitals_are_not_names_but_real_names_are():
    article = "Figma shares rose 15% on Monday."
    assert check_bullets(["The stock rose. Shares of Figma rose 15%."], article) == []
    assert check_bullets(["The stock rose as Adobe shares fell."], article) == ["Adobe"]


def test_a_name_with_leading_digits_is_one_name():
    article = "AgileBits hat Version 5.3 seines Passwortmanagers 1Password für OS X freigegeben."
    assert check_bullets(["1Password 5.3 für OS X ist da."], article) == []
    assert check_bullets(["2Password 5.3 für OS X ist da."], article) == ["2Password"]


# How real models restate the facts of an article (issue 14).
DEEPSEEK = (
    "DeepSeek trained V3, a 671B-parameter model, for $5.6 million on 2,048 H800 GPUs. Revenue "
    "was 5,612,000 dollars, up 29.6%. On January 30 it released R1. Two million users joined. "
    "Nvidia lost $589 billion. The 1990s were different. Speeds rose 50-60%."
)


def test_magnitude_suffixes_and_currency_symbols():
    assert check_bullets(["DeepSeek以560万美元训练6710亿参数的V3，使用2048块H800。"], DEEPSEEK) == []
    assert check_bullets(["DeepSeek用5.6M美元训练了671B参数的模型，英伟达市值蒸发5890亿美元。"], DEEPSEEK) == []
    assert check_bullets(["DeepSeek用6.5M美元训练了617B参数的模型。"], DEEPSEEK) == ["6.5m", "617b"]  # as normalised: lower case


def test_chinese_numerals_and_word_numbers():
    assert check_bullets(["两百万用户加入。"], DEEPSEEK) == []
    assert check_bullets(["三百万用户加入。"], DEEPSEEK) == ["3000000"]
    article = "开发人员向AlphaGo提供了大约3000万记录，国际空间站造价1500亿美元。"
    assert check_bullets(["约三千万条记录，造价一千五百亿美元。"], article) == []
    assert check_bullets(["约两百亿美元。"], "Adobe agreed to pay $20 billion.") == []


def test_rounding_to_the_precision_written():
    assert check_bullets(["营收约561万美元，增长30%。"], DEEPSEEK) == []
    assert check_bullets(["营收约600万美元。"], DEEPSEEK) == ["600万"]  # 5.6M is not 6M
    assert check_bullets(["增长40%。"], DEEPSEEK) == ["40%"]


def test_dates_months_and_decades():
    assert check_bullets(["R1于1月30日发布。"], DEEPSEEK) == []
    assert check_bullets(["R1于12月30日发布。"], DEEPSEEK) == ["12"]
    assert check_bullets(["上世纪90年代情况不同。"], DEEPSEEK) == []


def test_percentages_must_be_percentages_and_ranges_count():
    assert check_bullets(["速度提升50%至60%。"], DEEPSEEK) == []
    assert check_bullets(["市场份额为2048%。"], DEEPSEEK) == ["2048%"]


def test_spaced_thousands_and_french_millions():
    article = "2 209 Français ont été localisés. Le séisme touche le Népal et ses 28 millions d'habitants."
    assert check_bullets(["已有2209名法国人平安，尼泊尔有2800万人口。"], article) == []
    assert check_bullets(["已有2290名法国人平安。"], article) == ["2290"]


def test_units_of_measure_are_numbers_not_names():
    article = "The payload is 26.6 megabytes; zlib shrinks it to 39 kilobytes, saving 6 petabytes."
    assert check_bullets(["负载26.6MB，压缩后39KB，每天节省6PB。"], article) == []
    assert check_bullets(["负载62.6MB，每天节省1.5PB。"], article) == ["62.6", "1.5"]


def test_chinese_proper_nouns_in_chinese_articles():
    article = "谷歌在2014年收购的人工智能公司DeepMind发布论文。伦敦地铁网络地图。编译/林靖东"
    assert check_bullets(["谷歌旗下的DeepMind研究了伦敦地铁，林靖东编译。"], article) == []
    assert check_bullets(["微软旗下的DeepMind研究了巴黎地铁，王小明编译。"], article) == ["微软", "巴黎", "王小明"]
    # Chinese names are not checked against an article in another language.
    assert check_bullets(["马斯克表示。"], "Elon Musk said so.") == []


def test_ordinary_words_jieba_mistags_are_not_names():
    article = "开发人员向AlphaGo提供了历史对弈中的大约3000万记录。从邦德街开始坐两站。"
    assert check_bullets(["AlphaGo的历史对弈中约三千万条记录，从邦德街出发换乘两站。"], article) == []


def test_a_latin_name_opening_a_chinese_bullet_is_checked():
    article = "Stanford University released the report."
    assert check_bullets(["Harvard大学发布报告。"], article) == ["Harvard"]
    assert check_bullets(["Stanford大学发布报告。"], article) == []
