// Word lists of the plain-language parser: languages, formats, and the words that carry no
// setting of their own ("please", "extract", "视频").
#pragma once

#include <string_view>

namespace peel::nl {

struct LanguageName {
  std::string_view name;  // an English word, or Han characters
  std::string_view code;  // ISO 639-2/T
};

inline constexpr LanguageName kLanguageNames[] = {
    {"english", "eng"},    {"japanese", "jpn"}, {"chinese", "zho"},    {"mandarin", "zho"},
    {"french", "fra"},     {"german", "deu"},   {"spanish", "spa"},    {"italian", "ita"},
    {"korean", "kor"},     {"russian", "rus"},  {"portuguese", "por"}, {"thai", "tha"},
    {"vietnamese", "vie"}, {"arabic", "ara"},   {"hindi", "hin"},      {"dutch", "nld"},
    {"swedish", "swe"},    {"polish", "pol"},   {"turkish", "tur"},    {"日本语", "jpn"},
    {"日语", "jpn"},       {"日文", "jpn"},     {"英语", "eng"},       {"英文", "eng"},
    {"中文", "zho"},       {"汉语", "zho"},     {"国语", "zho"},       {"普通话", "zho"},
    {"华语", "zho"},       {"法语", "fra"},     {"法文", "fra"},       {"德语", "deu"},
    {"德文", "deu"},       {"西班牙语", "spa"}, {"意大利语", "ita"},   {"韩语", "kor"},
    {"韩文", "kor"},       {"朝鲜语", "kor"},   {"俄语", "rus"},       {"俄文", "rus"},
    {"葡萄牙语", "por"},   {"泰语", "tha"},     {"越南语", "vie"},     {"阿拉伯语", "ara"},
    {"印地语", "hin"},     {"荷兰语", "nld"},   {"瑞典语", "swe"},     {"波兰语", "pol"},
    {"土耳其语", "tur"}};

// Words that may follow a language name and belong to it ("Japanese dub", "日语配音").
inline constexpr std::string_view kLanguageTail[] = {
    "audio",    "track", "tracks", "dub",    "dubbed", "dubbing", "version", "soundtrack",
    "language", "voice", "voices", "stream", "音轨",   "配音",    "音频",    "版本",
    "版",       "声轨",  "轨道",   "语音",   "发音",   "轨"};

// Output format words, with the table name each means.
struct FormatWord {
  std::string_view word;
  std::string_view format;
};

inline constexpr FormatWord kFormatWords[] = {{"mp3", "mp3"},   {"aac", "aac"}, {"m4a", "m4a"},
                                              {"flac", "flac"}, {"wav", "wav"}, {"wave", "wav"},
                                              {"opus", "opus"}, {"ogg", "ogg"}, {"vorbis", "ogg"},
                                              {"oga", "ogg"},   {"mka", "mka"}, {"pcm", "pcm"}};

// Video containers: they describe the input ("this mp4 file"), never the output.
inline constexpr std::string_view kSourceWords[] = {
    "mp4", "mkv", "mov", "avi",  "webm",      "m4v",      "flv", "wmv", "mpg", "mpeg",
    "3gp", "ts",  "mts", "m2ts", "quicktime", "matroska", "vob", "ogv", "mxf"};

// Words that carry no setting: verbs of extracting, nouns for media, politeness, glue.
inline constexpr std::string_view kEnglishFillers[] = {
    "a",          "an",        "the",        "this",       "that",       "these",    "those",
    "it",         "its",       "it's",       "them",       "they",       "my",       "your",
    "our",        "me",        "i",          "i'd",        "i'm",        "we",       "you",
    "please",     "pls",       "plz",        "kindly",     "can",        "could",    "would",
    "will",       "should",    "just",       "only",       "out",        "of",       "from",
    "in",         "into",      "inside",     "to",         "as",         "and",      "with",
    "for",        "on",        "at",         "by",         "via",        "using",    "use",
    "then",       "also",      "so",         "but",        "or",         "is",       "are",
    "be",         "get",       "extract",    "extracting", "extracted",  "pull",     "pulling",
    "take",       "grab",      "rip",        "save",       "saved",      "saving",   "store",
    "convert",    "converted", "converting", "export",     "exported",   "make",     "turn",
    "give",       "want",      "need",       "like",       "keep",       "audio",    "sound",
    "soundtrack", "track",     "tracks",     "stream",     "streams",    "file",     "files",
    "video",      "videos",    "movie",      "movies",     "clip",       "clips",    "recording",
    "recordings", "footage",   "film",       "format",     "version",    "part",     "portion",
    "section",    "segment",   "piece",      "mark",       "marks",      "point",    "all",
    "whole",      "entire",    "full",       "complete",   "everything", "put",      "write",
    "create",     "produce",   "output",     "new",        "separate",   "hey",      "hi",
    "hello",      "thanks",    "thank",      "ok",         "okay",       "now",      "quick",
    "quickly",    "let",       "let's",      "lets",       "some",       "there",    "here",
    "which",      "what",      "one",        "something",  "help",       "do",       "have",
    "has",        "wanna",     "gonna",      "file's",     "video's",    "movie's",  "mine",
    "over",       "up",        "simply",     "go",         "ahead",      "bit",      "thing",
    "same",       "onto",      "time",       "range",      "mix",        "downmix",  "down",
    "mixed",      "channel",   "channels",   "quality",    "encode",     "encoded",  "copy",
    "audios",     "track's",   "music",      "song",       "songs",      "voice",    "speech",
    "lecture",    "interview", "meeting",    "talk",       "show",       "episode",  "folder",
    "directory",  "dir",       "trim",       "cut",        "crop",       "possible", "possibly",
    "much",       "more",      "less",       "ready",      "prepare",    "prepared", "sure",
    "nice",       "good",      "well",       "way",        "anything",   "both",     "software",
    "app",        "tool",      "program",    "model",      "engine",     "service",  "alone",
    "leave"};

// Chinese words that carry no setting, longest first where one starts another.
inline constexpr std::string_view kChineseFillers[] = {
    "帮我",     "帮忙",     "麻烦", "请",     "帮",     "我",     "给",       "把",       "将",
    "从",       "由",       "在",   "的",     "了",     "吧",     "呢",       "啊",       "吗",
    "一下",     "下来",     "下",   "里面",   "中",     "里",     "内",       "提取出来", "提取",
    "抽取",     "取出来",   "取出", "取",     "导出",   "输出",   "保存为",   "保存成",   "保存",
    "存为",     "存成",     "存",   "另存为", "转换成", "转换为", "转换",     "转成",     "转为",
    "转",       "变成",     "做成", "生成",   "成",     "为",     "要",       "想要",     "想",
    "需要",     "音频文件", "音频", "声音",   "音轨",   "音",     "视频文件", "视频",     "影片",
    "电影",     "文件",     "档案", "录像",   "录音",   "格式",   "这个",     "这些",     "这",
    "那个",     "个",       "部",   "段",     "部分",   "片段",   "出来",     "并且",     "并",
    "然后",     "再",       "和",   "与",     "及",     "只要",   "只",       "仅",       "就",
    "谢谢",     "可以",     "能",   "用",     "使用",   "得到",   "拿到",     "拿",       "弄",
    "整个",     "版本",     "它",   "其中",   "之间",   "一个",   "分离",     "分离出",   "导",
    "出",       "弄成",     "处理", "一份",   "份",     "条",     "轨",       "音乐",     "歌",
    "采访",     "会议",     "讲座", "节目",   "我的",   "你",     "您",       "帮忙把",   "好",
    "好的",     "一段",     "里的", "中的",   "得",     "后",     "并保存",   "文件夹",   "目录",
    "所有",     "全部",     "都",   "用于",   "用来",   "以便",   "方便",     "做",       "准备",
    "从头开始", "从头",     "一遍", "直接",   "尽量",   "一些",   "一点",     "软件",     "工具",
    "程序",     "模型",     "应用", "服务",   "搞成",   "弄成",   "搞",       "截取",     "截",
    "只需要",   "只留",     "留下", "保留",   "留"};

// Words that end an unquoted file name on its left: "from my holiday video.mkv" may name
// "holiday video.mkv", never "from my holiday video.mkv". Determiners may begin a name, so
// they end it after themselves (kDeterminers).
inline constexpr std::string_view kNameStops[] = {
    "from",   "of",     "as",     "to",     "into",  "in",        "inside",  "on",
    "onto",   "at",     "and",    "or",     "then",  "with",      "for",     "than",
    "via",    "using",  "use",    "save",   "saved", "store",     "extract", "convert",
    "export", "rip",    "get",    "take",   "grab",  "pull",      "make",    "turn",
    "called", "named",  "titled", "file",   "files", "video",     "videos",  "audio",
    "sound",  "movie",  "movies", "clip",   "clips", "recording", "film",    "track",
    "is",     "it",     "me",     "please", "give",  "want",      "need",    "keep",
    "strip",  "remove", "drop",   "write",  "put",   "open",      "read",    "load"};
inline constexpr std::string_view kDeterminers[] = {
    "the", "a", "an", "my", "this", "that", "your", "our", "his", "her", "their", "these", "those"};

// Han characters that end a file name on their left when it is written without a space
// ("把视频.mp4" names "视频.mp4"). "的" only may: "我的视频.mp4" could be either.
inline constexpr std::string_view kHanNameStops[] = {"从", "把", "将", "在", "用", "给", "对",
                                                     "由", "拿", "到", "为", "成", "和", "与",
                                                     "及", "是", "请", "帮", "让"};

}  // namespace peel::nl
