// Enormous inputs in bounded memory: 20000x20000 PNG (RGB and palette) and
// JPEG files, written row by row at run time into a temporary folder, are
// loaded into the 4096x4096 working copy while the process's peak resident
// memory grows by far less than one decoded image (1.2 GB).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include <jpeglib.h>
#include <png.h>

#include "io/image_loader.hpp"
#include "io/label_png.hpp"
#include "io/palette.hpp"
#include "unit/peak_memory.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int kSide = 20000;
constexpr int kWorking = 4096;
// Working copy (4096*4096*3 = 48 MiB) plus decoder rows and slack; a full
// decode would add 1144 MiB.
constexpr std::size_t kBudget = std::size_t{160} << 20;

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("zgseg_big_" + std::to_string(::getpid()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// Smooth test picture: R follows x, G follows y, B is a 4x4 checkerboard.
void fill_row(int y, std::vector<std::uint8_t>& row) {
    for (int x = 0; x < kSide; ++x) {
        row[3 * x] = static_cast<std::uint8_t>(x * 255 / (kSide - 1));
        row[3 * x + 1] = static_cast<std::uint8_t>(y * 255 / (kSide - 1));
        row[3 * x + 2] = ((x / 5000 + y / 5000) % 2) ? 255 : 0;
    }
}

void write_rgb_png(const fs::path& path) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, file);
    png_set_compression_level(png, 1);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_set_IHDR(png, info, kSide, kSide, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    std::vector<std::uint8_t> row(3 * kSide);
    for (int y = 0; y < kSide; ++y) {
        fill_row(y, row);
        png_write_row(png, row.data());
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
}

void write_jpeg(const fs::path& path) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    jpeg_compress_struct cinfo{};
    jpeg_error_mgr errors{};
    cinfo.err = jpeg_std_error(&errors);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, file);
    cinfo.image_width = kSide;
    cinfo.image_height = kSide;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 85, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    std::vector<std::uint8_t> row(3 * kSide);
    while (cinfo.next_scanline < cinfo.image_height) {
        fill_row(static_cast<int>(cinfo.next_scanline), row);
        JSAMPROW rows[1] = {row.data()};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    std::fclose(file);
}

zgseg::LoadedImage load_measured(const fs::path& path, std::size_t* growth) {
    zgseg::test::reset_peak_rss();
    const std::size_t before = zgseg::test::peak_rss_bytes();
    const auto start = std::chrono::steady_clock::now();
    zgseg::LoadedImage image = zgseg::load_image(path);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    *growth = zgseg::test::peak_rss_bytes() - before;
    std::cout << "  " << path.filename().string() << " (" << fs::file_size(path) / 1024 << " KiB): peak RSS growth "
              << (*growth >> 20) << " MiB, loaded in " << seconds << " s\n";
    return image;
}

// The picture is smooth, so each working pixel is close to the formula at its centre.
void expect_picture(const cv::Mat& rgb, int tolerance) {
    int worst = 0;
    for (int by : {5, 1000, 2047, 3000, 4090})
        for (int bx : {5, 700, 2100, 3500, 4090}) {
            const double x = (bx + 0.5) * kSide / kWorking, y = (by + 0.5) * kSide / kWorking;
            const cv::Vec3b p = rgb.at<cv::Vec3b>(by, bx);
            const int expected[3] = {static_cast<int>(x * 255 / (kSide - 1)), static_cast<int>(y * 255 / (kSide - 1)),
                                     ((static_cast<int>(x) / 5000 + static_cast<int>(y) / 5000) % 2) ? 255 : 0};
            for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(p[c] - expected[c]));
        }
    std::cout << "  max abs diff at 25 sample points " << worst << " (tolerance " << tolerance << ")\n";
    EXPECT_LE(worst, tolerance);
}

}  // namespace

TEST(ImageLoaderLarge, RgbPng20000SquaredInBoundedMemory) {
    TempDir tmp;
    const fs::path path = tmp.path / "big_rgb.png";
    write_rgb_png(path);
    std::size_t growth = 0;
    const zgseg::LoadedImage image = load_measured(path, &growth);
    EXPECT_EQ(image.original_size, cv::Size(kSide, kSide));
    EXPECT_TRUE(image.downscaled);
    ASSERT_EQ(image.rgb.size(), cv::Size(kWorking, kWorking));
    expect_picture(image.rgb, 2);
    EXPECT_LT(growth, kBudget);
}

TEST(ImageLoaderLarge, BaselineJpeg20000SquaredInBoundedMemory) {
    TempDir tmp;
    const fs::path path = tmp.path / "big.jpg";
    write_jpeg(path);
    std::size_t growth = 0;
    const zgseg::LoadedImage image = load_measured(path, &growth);
    EXPECT_EQ(image.original_size, cv::Size(kSide, kSide));
    ASSERT_EQ(image.rgb.size(), cv::Size(kWorking, kWorking));
    expect_picture(image.rgb, 4);  // JPEG loss on a smooth picture
    EXPECT_LT(growth, kBudget);
}

// The label-map writer streams too: a 20000x20000 palette PNG from a 4x4
// label map, then read back by the loader as VOC colours.
TEST(ImageLoaderLarge, PalettePngWrittenAndLoadedInBoundedMemory) {
    TempDir tmp;
    const fs::path path = tmp.path / "big_labels.png";
    cv::Mat labels(4, 4, CV_32S);
    for (int i = 0; i < 16; ++i) labels.at<std::int32_t>(i / 4, i % 4) = i + 1;
    zgseg::test::reset_peak_rss();
    const std::size_t before = zgseg::test::peak_rss_bytes();
    zgseg::write_label_png(path, labels, cv::Size(kSide, kSide), false);
    const std::size_t write_growth = zgseg::test::peak_rss_bytes() - before;
    std::cout << "  write_label_png 20000x20000: peak RSS growth " << (write_growth >> 20) << " MiB\n";
    EXPECT_LT(write_growth, std::size_t{16} << 20);

    std::size_t growth = 0;
    const zgseg::LoadedImage image = load_measured(path, &growth);
    ASSERT_EQ(image.rgb.size(), cv::Size(kWorking, kWorking));
    for (int i = 0; i < 16; ++i) {
        const cv::Vec3b p = image.rgb.at<cv::Vec3b>((i / 4) * 1024 + 512, (i % 4) * 1024 + 512);
        const zgseg::Rgb c = zgseg::voc_color(static_cast<std::uint32_t>(i + 1));
        EXPECT_EQ(p, cv::Vec3b(c[0], c[1], c[2])) << "block " << i;
    }
    EXPECT_LT(growth, kBudget);
}
