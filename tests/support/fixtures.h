// Named fixtures shared by the tests, each made once per build with the ffmpeg CLI.
#pragma once

#include <string>

namespace peel::test {

// 6 s of 48 kHz audio: silence, then from exactly 2.000 s a 440 Hz tone (left) and 660 Hz
// (right). The step makes the first sample of a cut checkable in any codec.
inline constexpr double kStepAt = 2.0;

std::string mp4_h264_aac();       // H.264 + AAC-LC stereo, the step signal, 6 s
std::string mkv_h264_pcm16();     // H.264 + pcm_s16le in Matroska (millisecond timestamps)
std::string mkv_flac24();         // FLAC 24-bit, 48 kHz, in Matroska, with video
std::string mkv_opus();           // H.264 + Opus, 48 kHz stereo, 6 s
std::string webm_vp9_opus();      // VP9 + Opus
std::string ts_h264_aac();        // MPEG-TS: ADTS AAC with a non-zero start time
std::string avi_mp3();            // AVI with MP3 audio
std::string mov_pcm24();          // QuickTime with big-endian 24-bit PCM ('in24')
std::string mkv_two_tracks();     // two AAC tracks: eng "Main" and jpn "Commentary" (default)
std::string mp4_51();             // AAC 5.1
std::string flv_aac();            // FLV with AAC
std::string mp4_video_only();     // H.264, no audio
std::string mp4_tagged();         // tags (title, artist, album, date, comment) and 3 chapters
std::string mp4_delayed_audio();  // audio starting 0.5 s after the video
std::string mkv_delayed_video();  // video starting 0.5 s after the audio
std::string mkv_vfr_pcm16();      // variable-frame-rate video + pcm_s16le
std::string mp3_lame();           // an .mp3 file with a LAME header (encoder delay, padding)
std::string mov_aac();            // QuickTime with AAC
std::string wmv_wma();            // ASF with WMA v2 (no natural container: goes to .mka)
// Five minutes of AAC with a tiny video: long enough that a transcode is still running when
// a test interrupts it.
std::string mkv_five_minutes();

}  // namespace peel::test
